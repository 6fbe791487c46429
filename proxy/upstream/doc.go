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
// Or, allocation-lean, by writing and reading the heads yourself, as
// proxy/reverse's fast path does:
//
//	pc, err := c.Get(ctx, "10.0.0.1:80", probe)
//	head := upstream.RequestHead{Method: r.Method, Target: "/p?q", Host: r.Host,
//		Header: r.Header, Replace: []upstream.Field{{Name: "Via", Value: "1.1 me"}}}
//	err = head.Write(pc.Writer())     // then the body, then pc.Writer().Flush()
//	var rh upstream.ResponseHead
//	err = rh.Read(pc.Reader(), r.Method, w.Header(), upstream.ReadOptions{DropHopByHop: true})
//	var b upstream.Body
//	b.Reset(c, pc, &rh)
//	b.WriteTo(w)                      // copies from the read buffer, no copy buffer
//	b.Close()                         // pools the connection when read to the end
//
// On any error before a response head was read, close pc; a *StaleError
// (errors.Is ErrStaleConn) means a pooled connection had been closed by the
// upstream and the request may be resent once on a new one. Deadlines
// (ResponseHeaderTimeout, cancellation) are the caller's in this mode:
// Conn.NetConn().SetDeadline.
//
// The parser keeps RFC 9112 framing strict, as net/http reads it: one
// Transfer-Encoding, "chunked" only; Content-Length fields all equal and
// decimal; chunked wins over Content-Length (which is removed and the
// connection not reused); bare CR, NUL and other controls in values refused.
package upstream
