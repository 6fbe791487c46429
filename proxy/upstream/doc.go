// Package upstream is proxylab's HTTP/1.1 client for the proxies' upstream
// side: a pool of keep-alive connections per address that runs each
// exchange in the calling goroutine (no per-connection read and write
// goroutines as in http.Transport), with a request head writer, a response
// head parser and body readers that work on the pooled connection's buffers.
//
//	caller ──Get(addr)──▶ Client pool (LIFO per address, idle sweep, liveness peek)
//	   │                      │ dial when empty (Config.Dial)
//	   ▼                      ▼
//	RequestHead.Write ──▶ Conn.Writer() ──flush──▶ upstream
//	ResponseHead.Read ◀── Conn.Reader() ◀──────────┘   (fields straight into the caller's header map)
//	Body (length | chunked | until close) ──read to the end──▶ Client.Put (back to the pool)
//
// Two ways to use it:
//
// As an http.RoundTripper, for code built on http.Request and http.Response
// (httputil.ReverseProxy's Transport, a forward proxy's plain-http
// absolute-form path):
//
//	c := upstream.New(upstream.Config{Dial: dial, ResponseHeaderTimeout: 10 * time.Second})
//	defer c.Close()
//	if c.Handles(req) { // plain http, no Upgrade, no Expect
//		resp, err := c.RoundTrip(req) // resp.Body.Close() read to EOF pools the connection
//	}
//
// Or, allocation-lean, through an Exchange that writes the request head
// and reads the response head on the pooled connection's buffers, as
// proxy/reverse's and proxy/forward's direct paths do:
//
//	pc, err := c.Get(ctx, "10.0.0.1:80", upstream.ProbeFor(idempotent, hasBody))
//	head := upstream.RequestHead{Method: r.Method, Target: "/p?q", Host: r.Host,
//		Header: r.Header, Replace: []upstream.Field{{Name: "Via", Value: "1.1 me"}}}
//	var x upstream.Exchange           // lives in a pooled per-request state
//	x.Begin(ctx, c, pc, r.Method)
//	err = x.Send(&head, body)         // or write by hand, then x.Sent(err)
//	var rh upstream.ResponseHead
//	err = x.Await(&rh, w.Header(), upstream.AwaitOptions{Timeout: t, Informational: w})
//	if upstream.MayResend(err, idempotent) { /* once more, on a new connection */ }
//	var b upstream.Body
//	b.Reset(c, x.Conn(), &rh)
//	b.WriteTo(w)                      // copies from the read buffer, no copy buffer
//	x.Unhook()
//	b.Close()                         // pools the connection when read to the end
//
// The Exchange holds the rules all three share: a pooled connection that
// fails before any response byte is a *StaleError (errors.Is ErrStaleConn,
// Written tells whether the request went out whole), which MayResend turns
// into one more try; the first response byte is awaited under a short
// deadline (FirstByteWait) before the client's cancellation is hooked to
// the connection, so quick answers never pay for the hook; 1xx heads go to
// an Informer (100 dropped, 101 refused) or are skipped. Every failure
// closes the connection.
//
// The parser keeps RFC 9112 framing strict, as net/http reads it: one
// Transfer-Encoding, "chunked" only; Content-Length fields all equal and
// decimal; chunked wins over Content-Length (which is removed and the
// connection not reused); bare CR, NUL and other controls in values refused.
package upstream
