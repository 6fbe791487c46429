package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
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
		if !errors.Is(err, ErrStaleConn) || try > 0 {
			return resp, err
		}
		var se *StaleError
		if errors.As(err, &se) && se.Written && !Idempotent(req) {
			return nil, err
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
	// An idempotent request without a body is resent on a dead pooled
	// connection, so it skips the liveness probe on young connections.
	probe := !Idempotent(req) || req.Body != nil && req.Body != http.NoBody
	pc, err := h.Get(ctx, req.URL.Host, probe)
	if err != nil {
		return nil, err
	}
	reused := pc.reused
	// Cancelling the request unblocks any read or write at once.
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		pc.c.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	if err := req.Write(pc.bw); err != nil {
		if reused && IsConnGone(err) {
			return fail(&StaleError{Written: false, Err: err})
		}
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		if reused && IsConnGone(err) {
			return fail(&StaleError{Written: false, Err: err})
		}
		return fail(err)
	}
	if t := h.cfg.ResponseHeaderTimeout; t > 0 {
		pc.c.SetReadDeadline(time.Now().Add(t))
	}
	var resp *http.Response
	for {
		if reused {
			if _, err := pc.br.Peek(1); err != nil {
				if IsConnGone(err) {
					return fail(&StaleError{Written: true, Err: err})
				}
				return fail(err)
			}
			reused = false
		}
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		// 1xx informational (103 Early Hints): skip to the final response.
		resp.Body.Close()
	}
	if h.cfg.ResponseHeaderTimeout > 0 {
		pc.c.SetReadDeadline(time.Time{})
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("upstream switched protocols without an Upgrade request"))
	}
	resp.Body = &pooledBody{h: h, pc: pc, body: resp.Body, stop: stop, reuse: !resp.Close && !req.Close}
	return resp, nil
}

// pooledBody returns its connection to the pool when read to the end, and
// closes it otherwise.
type pooledBody struct {
	h     *Client
	pc    *Conn
	body  io.ReadCloser
	stop  func() bool
	reuse bool
	eof   bool
	done  bool
}

func (b *pooledBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *pooledBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.body.Close()
	if b.stop() && b.eof && b.reuse && err == nil {
		b.h.Put(b.pc)
		return nil
	}
	b.pc.c.Close()
	return err
}

var _ http.RoundTripper = (*Client)(nil)
