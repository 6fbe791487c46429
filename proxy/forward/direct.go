package forward

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"

	"github.com/proxylab/proxylab/proxy/upstream"
)

// serveDirect sends an allowed absolute-form request to its vetted address
// on a pooled upstream.Client connection, in the handler's goroutine:
//
//	request head written by hand from the client's header (no clone):
//	  hop-by-hop fields and credentials left out, Via appended
//	body (Content-Length or chunked, limited and timed by wrapBody)
//	response head read straight into w.Header() (hop-by-hop fields dropped)
//	body copied from the connection's buffer; read whole, the connection is
//	  pooled; broken off, the client's connection is cut (abortResponse)
//
// A pooled connection found dead before any answer is replaced once when
// the request has no body and may be resent.
func (p *Proxy) serveDirect(w http.ResponseWriter, r *http.Request, pol *policy, rt route, rec *record) {
	c := p.directFor(pol).fast
	cb := p.wrapBody(w, requestBody(r), r.ContentLength, pol)
	var via [1]upstream.Field
	via[0] = upstream.Field{Name: "Via", Value: pol.via.value(r.Header, r.Proto)}
	head := upstream.RequestHead{Method: r.Method, Target: r.URL.RequestURI(), Host: r.URL.Host,
		Header: r.Header, Replace: via[:]}
	if cb != nil {
		head.ContentLength = r.ContentLength // -1: chunked
	}
	x := exchange{c: c, r: r, body: cb, addr: p.addrs.get(rt.dial)}
	err := x.send(&head, w.Header())
	for try := 0; err != nil && try == 0 && x.mayResend(err); try++ {
		err = x.send(&head, w.Header())
	}
	if p.upstreamFailed(w, pol, rt, cb, rec, err) {
		return
	}

	h := w.Header()
	pol.via.add(h, x.proto())
	rh := &x.resp
	if rh.ContentLength >= 0 && r.Method != http.MethodHead && bodyAllowed(rh.StatusCode) && !hasLength(h, rh.ContentLength) {
		h.Set("Content-Length", strconv.FormatInt(rh.ContentLength, 10))
	}
	rec.status = rh.StatusCode
	w.WriteHeader(rh.StatusCode)
	var dst io.Writer = w
	if rh.ContentLength < 0 {
		dst = flushWriter{w: w, rc: http.NewResponseController(w)}
	}
	var b upstream.Body
	b.Reset(c, x.up.Conn(), rh)
	if !b.Buffered() {
		x.up.Hook() // an upstream stalling mid-body must not outlive the client
	}
	rec.down, err = b.WriteTo(dst)
	if x.up.Unhook() && err == nil && b.EOF() {
		_ = b.Close() // read whole: the connection goes back to the pool
	} else {
		_ = b.CloseConn()
	}
	if cb != nil {
		rec.up = cb.n.Load()
	}
	if err != nil {
		p.abortResponse(rec)
	}
	p.finish(rec)
}

// expectsContinue reports whether r asks for 100 Continue before its body.
func expectsContinue(r *http.Request) bool {
	_, ok := r.Header["Expect"]
	return ok
}

// exchange is one request on one upstream connection, up to the final
// response head.
type exchange struct {
	c    *upstream.Client
	r    *http.Request
	body *countingBody // nil: no body
	addr string        // the vetted ip:port

	up   upstream.Exchange
	resp upstream.ResponseHead
}

// send writes head (and the body) on a pooled or new connection and reads
// the final response head into h (1xx heads are skipped), by the rules of
// upstream.Exchange. On error the connection is closed and h is left empty;
// on success x.up's connection is the caller's, to be released with
// x.up.Unhook. head is not kept in x, which the pool's address makes
// escape, so that it can stay on the caller's stack.
func (x *exchange) send(head *upstream.RequestHead, h http.Header) error {
	ctx := x.r.Context()
	if err := ctx.Err(); err != nil {
		return err
	}
	pc, err := x.c.Get(ctx, x.addr, upstream.ProbeFor(upstream.Idempotent(x.r), x.body != nil))
	if err != nil {
		return err
	}
	x.up.Begin(ctx, x.c, pc, x.r.Method)
	if x.body == nil {
		err = x.up.Send(head, nil)
	} else {
		// Writing a body may block on an upstream that does not read it:
		// the client's leaving must unblock it.
		x.up.Hook()
		bw := pc.Writer()
		err = head.Write(bw)
		if err == nil {
			err = writeBody(bw, x.body, head.ContentLength, x.r.Trailer)
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil && x.body.clientErr() == nil && ctx.Err() == nil && x.earlyAnswer(h) {
			return nil
		}
		err = x.up.Sent(err)
	}
	if err != nil {
		return err
	}
	return x.up.Await(&x.resp, h, upstream.AwaitOptions{Timeout: x.c.ResponseHeaderTimeout()})
}

// earlyAnswerWait bounds the wait for an answer the upstream sent before it
// stopped reading the request body (http.Transport waits 50 ms as well).
const earlyAnswerWait = 50 * time.Millisecond

// earlyAnswer reads the final response head an upstream sent before it
// stopped reading the request body (a 413 or a 401 to an upload), so that
// the client gets that answer rather than a 502, as from http.Transport. The
// connection is not reused after it: the request was never sent whole.
func (x *exchange) earlyAnswer(h http.Header) bool {
	if x.up.Await(&x.resp, h, upstream.AwaitOptions{Timeout: earlyAnswerWait}) != nil {
		return false
	}
	x.resp.Close = true
	return true
}

// mayResend reports whether a failed send can be tried once more on a new
// connection: a pooled connection had been closed by the upstream, the
// request has no body, and it was not written or may be sent twice.
func (x *exchange) mayResend(err error) bool {
	return x.body == nil && upstream.MayResend(err, upstream.Idempotent(x.r))
}

// proto is the response's protocol as received, for its Via hop.
func (x *exchange) proto() string {
	if x.resp.ProtoMajor == 1 && x.resp.ProtoMinor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// writeBody sends a request body of length bytes, or chunked (with the
// request's trailers) when length is -1. A read error (the client's) or a
// write error (the upstream's) ends it half-sent: the caller closes the
// connection, so the upstream never sees a complete request.
func writeBody(bw *bufio.Writer, body io.Reader, length int64, trailer http.Header) error {
	if length >= 0 {
		n, err := io.Copy(bw, body)
		if err == nil && n != length {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	cw := httputil.NewChunkedWriter(bw)
	if _, err := io.Copy(cw, body); err != nil {
		return err
	}
	if err := cw.Close(); err != nil { // the last chunk, "0\r\n"
		return err
	}
	for k, vv := range trailer {
		for _, v := range vv {
			upstream.WriteField(bw, k, v)
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}
