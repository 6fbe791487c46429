package upstream

import (
	"io"
	"net/http"
	"strconv"
)

// Handles reports whether RoundTrip can send req: plain http, not CONNECT,
// no Upgrade and no Expect (those go through http.Transport).
func (h *Client) Handles(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Method == http.MethodConnect {
		return false
	}
	hd := req.Header
	_, up := hd["Upgrade"]
	_, exp := hd["Expect"]
	return !up && !exp
}

// RoundTrip sends req (which Handles must accept) on a pooled connection
// to req.URL.Host and returns the final response; 1xx responses are
// skipped. Closing the response body read to its end returns the connection
// to the pool. A pooled connection found dead is replaced once, as
// http.Transport does: when nothing was written, or when the request is
// idempotent and its body can be had again (GetBody).
func (h *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	for try := 0; ; try++ {
		resp, err := h.roundTrip(req)
		if err == nil || try > 0 || !MayResend(err, Idempotent(req)) {
			return resp, err
		}
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, err
			}
			b, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			req.Body = b
		}
	}
}

// Idempotent reports whether a request may be sent twice (RFC 9110 §9.2.2,
// or an Idempotency-Key or X-Idempotency-Key field).
func Idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return r.Header.Get("Idempotency-Key") != "" || r.Header.Get("X-Idempotency-Key") != ""
}

func (h *Client) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	body := req.Body != nil && req.Body != http.NoBody
	pc, err := h.Get(ctx, req.URL.Host, ProbeFor(Idempotent(req), body))
	if err != nil {
		return nil, err
	}
	b := &pooledBody{reuse: !req.Close}
	x := &b.x
	x.Begin(ctx, h, pc, req.Method)
	if body {
		x.Hook() // writing the body may block on an upstream that does not read it
	}
	err = req.Write(pc.bw)
	if err == nil {
		err = pc.bw.Flush()
	}
	if err := x.Sent(err); err != nil {
		return nil, err
	}
	hd := make(http.Header)
	if err := x.Await(&b.head, hd, AwaitOptions{Timeout: h.cfg.ResponseHeaderTimeout, KeepHopByHop: true}); err != nil {
		return nil, err
	}
	b.body.Reset(h, pc, &b.head)
	if !b.body.Buffered() {
		x.Hook() // the request's end must end a body read that blocks
	}
	return b.response(req), nil
}

// pooledBody is a RoundTrip response's body: it returns its connection to
// the pool when read to the end, and closes it otherwise. It holds the
// response, so that a round trip allocates it once.
type pooledBody struct {
	x     Exchange
	head  ResponseHead
	body  Body
	resp  http.Response
	reuse bool // the request allows another exchange on the connection
	eof   bool
}

// response fills b.resp from the head as http.ReadResponse would.
func (b *pooledBody) response(req *http.Request) *http.Response {
	rh := &b.head
	hd := rh.Header
	r := &b.resp
	r.StatusCode = rh.StatusCode
	r.Status = strconv.Itoa(rh.StatusCode)
	if rh.Reason != "" {
		r.Status += " " + rh.Reason
	}
	r.ProtoMajor, r.ProtoMinor = rh.ProtoMajor, rh.ProtoMinor
	r.Proto = "HTTP/" + strconv.Itoa(rh.ProtoMajor) + "." + strconv.Itoa(rh.ProtoMinor)
	r.Header = hd
	r.ContentLength = rh.ContentLength
	if req.Method == http.MethodHead {
		// The length the body would have had, as net/http reports it.
		r.ContentLength = -1
		if v := hd["Content-Length"]; len(v) > 0 {
			if n, err := strconv.ParseInt(trimOWS(v[0]), 10, 64); err == nil && n >= 0 {
				r.ContentLength = n
			}
		}
	}
	if rh.Chunked {
		r.TransferEncoding = []string{"chunked"}
		delete(hd, "Transfer-Encoding")
		delete(hd, "Trailer")
		if len(rh.Trailer) > 0 {
			r.Trailer = make(http.Header, len(rh.Trailer))
			for _, k := range rh.Trailer {
				r.Trailer[k] = nil
			}
		}
	}
	if rh.ProtoMinor > 0 && headerValuesContainToken(hd["Connection"], "close") {
		delete(hd, "Connection") // as net/http does: Close says it
	}
	r.Close = rh.Close
	r.Request = req
	r.Body = b
	return r
}

func (b *pooledBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF && !b.eof {
		b.eof = true
		if len(b.body.Trailer) > 0 {
			if b.resp.Trailer == nil {
				b.resp.Trailer = make(http.Header, len(b.body.Trailer))
			}
			for k, vv := range b.body.Trailer {
				b.resp.Trailer[k] = vv
			}
		}
	}
	return n, err
}

func (b *pooledBody) Close() error {
	if b.x.Unhook() && b.reuse {
		return b.body.Close() // pools the connection when read to the end
	}
	return b.body.CloseConn()
}

var _ http.RoundTripper = (*Client)(nil)
