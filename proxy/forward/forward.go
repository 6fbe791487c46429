package forward

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/proxylab/proxylab/proxy"
)

// serveHTTP forwards one absolute-form request. The upstream connection is
// keyed by the vetted IP:port (not the name), so the pools keep keep-alive
// connections per address and never re-resolve; the Host header keeps the
// authority the client asked for. Direct routes go through serveDirect;
// parent routes and requests that wait for 100 Continue through
// http.Transport.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request, pol *policy, rec *record) {
	if r.URL.Scheme != "http" {
		p.refuse(w, pol, rec, deny(http.StatusBadRequest, "http_request_error", "scheme",
			"scheme %q is not served in absolute-form; want http://, or CONNECT for https", r.URL.Scheme))
		return
	}
	if r.URL.User != nil {
		p.refuse(w, pol, rec, deny(http.StatusBadRequest, "http_request_error", "authority",
			"userinfo in the request URL is not allowed"))
		return
	}
	host, port, err := parseAuthority(r.URL.Host, 80)
	if err != nil {
		p.refuse(w, pol, rec, &Denial{Status: http.StatusBadRequest, Kind: "http_request_error", Rule: "authority",
			Detail: "bad request target", Err: err})
		return
	}
	if handled := p.maxForwards(w, r, pol, rec); handled {
		return
	}
	if d := bodyOverLimit(r, pol); d != nil {
		p.refuse(w, pol, rec, d) // before any lookup or dial
		return
	}
	rt, d := p.decide(r.Context(), pol, host, port, false, localAddrPort(r.Context()))
	if d != nil {
		p.refuse(w, pol, rec, d)
		return
	}
	rec.allow(rt)
	rec.url = r.URL
	if rt.parent == nil && !expectsContinue(r) {
		p.serveDirect(w, r, pol, rt, rec)
		return
	}

	// Through a parent, or waiting for 100 Continue: http.Transport.
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Host = r.URL.Host
	if rt.parent == nil {
		out.URL.Host = p.addrs.get(rt.dial) // the vetted address: the Transport never resolves
	} else {
		out.URL.Host = rt.target() // the parent resolves the name
	}
	proxy.RemoveHopByHop(out.Header)
	proxy.StripH2CUpgrade(out.Header)
	pol.via.add(out.Header, r.Proto)
	out.Body = nil
	cb := p.wrapBody(w, requestBody(r), r.ContentLength, pol)
	if cb != nil {
		out.Body = cb
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // do not let the Transport add Go's own
	}

	resp, err := p.transportFor(pol, rt.parent).RoundTrip(out)
	if p.upstreamFailed(w, pol, rt, cb, rec, err) {
		return
	}
	defer resp.Body.Close()
	err = p.copyResponse(w, resp, r, pol, rt, rec)
	if cb != nil {
		rec.up = cb.n.Load()
	}
	if err != nil {
		p.abortResponse(rec)
	}
	p.finish(rec)
}

// upstreamFailed, when err says the exchange failed, answers the client
// (unless it left) and finishes the record with the request body's bytes
// sent: the policy allowed it, so the record stays "allowed" with the
// failure's status and kind. It reports whether it answered.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, pol *policy, rt route, cb *countingBody, rec *record, err error) (failed bool) {
	if err == nil {
		return false
	}
	if cb != nil {
		rec.up = cb.n.Load()
	}
	d := upstreamDenial("request to "+rt.target(), err)
	if cerr := cb.clientErr(); cerr != nil {
		d = clientBodyDenial(cerr)
	}
	if d.Kind != "client_canceled" {
		d.write(w, pol.cfg.Via)
	}
	rec.status, rec.kind = d.Status, d.Kind
	p.finish(rec)
	return true
}

// copyResponse relays the upstream response, minus hop-by-hop headers, plus
// Via, streaming the body (flushing when its length is unknown). It returns
// the error that broke the body off, if any.
func (p *Proxy) copyResponse(w http.ResponseWriter, resp *http.Response, r *http.Request, pol *policy, rt route, rec *record) error {
	h := w.Header()
	parentAuth := rt.parent != nil && resp.StatusCode == http.StatusProxyAuthRequired
	challenge := resp.Header.Values("Proxy-Authenticate")
	proxy.RemoveHopByHop(resp.Header)
	for k, vv := range resp.Header {
		h[k] = vv
	}
	if parentAuth {
		// The parent refused our credentials: pass its 407 through, with its
		// challenge, and say in Proxy-Status which hop answered.
		h["Proxy-Authenticate"] = challenge
		h.Set("Proxy-Status", fmt.Sprintf("%s; error=http_request_denied; details=%q", pol.cfg.Via,
			"parent proxy "+rt.parent.url.Host+" answered 407"))
		rec.kind = "parent_auth"
	}
	pol.via.add(h, resp.Proto)
	if resp.ContentLength >= 0 && r.Method != http.MethodHead && bodyAllowed(resp.StatusCode) && !hasLength(h, resp.ContentLength) {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	rec.status = resp.StatusCode
	w.WriteHeader(resp.StatusCode)
	var dst io.Writer = w
	if resp.ContentLength < 0 {
		dst = flushWriter{w: w, rc: http.NewResponseController(w)}
	}
	n, err := copyBody(dst, resp.Body)
	rec.down = n
	return err
}

// abortResponse ends a response whose body broke off (the upstream died
// mid-body, or the client went away): the record says so, and the client's
// connection is cut (http.ErrAbortHandler, as httputil does) so that a short
// body is never passed on as complete.
func (p *Proxy) abortResponse(rec *record) {
	rec.kind = "http_response_incomplete"
	p.finish(rec)
	panic(http.ErrAbortHandler)
}

// copyBufs are the buffers copyBody relays response bodies with: a
// ResponseWriter that is no io.ReaderFrom would make io.Copy allocate 32 KiB
// per response.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody copies src to dst with a pooled buffer, unless one of them copies
// by itself (io.WriterTo, io.ReaderFrom).
func copyBody(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(dst, src, *bp)
}

// hasLength reports whether h already says Content-Length: n, once and in
// canonical form (no sign, no leading zero), so it can be relayed as it is.
func hasLength(h http.Header, n int64) bool {
	v := h["Content-Length"]
	if len(v) != 1 || v[0] == "" || v[0][0] == '+' || (v[0][0] == '0' && len(v[0]) > 1) {
		return false
	}
	m, err := strconv.ParseInt(v[0], 10, 64)
	return err == nil && m == n
}

// bodyAllowed reports whether a response with this status may carry a body
// (and so a Content-Length): not 1xx, 204 or 304 (RFC 9110 §8.6).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// maxForwards answers OPTIONS and TRACE whose Max-Forwards is 0 itself and
// decrements it otherwise (RFC 9110 §7.6.2). It reports whether it answered.
func (p *Proxy) maxForwards(w http.ResponseWriter, r *http.Request, pol *policy, rec *record) bool {
	if r.Method != http.MethodOptions && r.Method != http.MethodTrace {
		return false
	}
	v := r.Header.Get("Max-Forwards")
	if v == "" {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		p.refuse(w, pol, rec, deny(http.StatusBadRequest, "http_request_error", "max-forwards",
			"Max-Forwards %q, want a non-negative integer", v))
		return true
	}
	if n > 0 {
		r.Header.Set("Max-Forwards", strconv.Itoa(n-1))
		return false
	}
	rec.allowed, rec.rule, rec.status = true, "max-forwards", http.StatusOK
	pol.via.add(w.Header(), r.Proto)
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		p.finish(rec)
		return true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", r.Method, r.RequestURI, r.Proto)
	echo := r.Header.Clone()
	for _, k := range []string{"Proxy-Authorization", "Authorization", "Cookie"} {
		echo.Del(k) // never reflect credentials (RFC 9110 §9.3.8)
	}
	_ = echo.Write(&b)
	w.Header().Set("Content-Type", "message/http")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, b.String())
	p.finish(rec)
	return true
}

// flushWriter flushes after every write so streamed bodies (SSE, chunked)
// reach the client as they arrive.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	_ = f.rc.Flush()
	return n, err
}
