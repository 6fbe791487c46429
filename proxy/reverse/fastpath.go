package reverse

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// h1Client is the upstream client for the common case: plain HTTP/1.1, no
// Upgrade, no Expect. Unlike http.Transport it runs each exchange in the
// calling goroutine (no per-connection read and write loops to hand over
// to), which saves several goroutine switches per request; everything else
// goes through http.Transport. Connections are pooled per address, LIFO.
type h1Client struct {
	dial       func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle    int
	idleTime   time.Duration
	respHeader time.Duration

	mu        sync.Mutex
	idle      map[string][]*h1Conn
	closed    bool
	lastSweep time.Time
}

type h1Conn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	addr   string
	idleAt time.Time

	raw    syscall.RawConn       // for the liveness peek; nil if unavailable
	peekFn func(fd uintptr) bool // pc.peek, bound once
	live   bool                  // result of the last peek
	peekB  [1]byte
}

func newH1Client(dial func(ctx context.Context, network, addr string) (net.Conn, error), cfg Config) *h1Client {
	return &h1Client{
		dial:       dial,
		maxIdle:    cfg.Limits.MaxIdleConnsPerHost,
		idleTime:   cfg.Timeouts.Idle,
		respHeader: cfg.Timeouts.ResponseHeader,
		idle:       make(map[string][]*h1Conn),
	}
}

// handles reports whether the fast client can send req.
func (h *h1Client) handles(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Method == http.MethodConnect {
		return false
	}
	hd := req.Header
	_, up := hd["Upgrade"]
	_, exp := hd["Expect"]
	return !up && !exp
}

// probeAfter is how long a pooled connection may sit idle before even a
// request that could be resent probes it: an upstream's idle timeout may
// write a stray response (408) before it closes, which only the probe sees,
// and idle timeouts are seconds long. Under load connections come back
// within microseconds and skip the probe's syscall.
const probeAfter = time.Second

// get returns a pooled connection to addr (reused) or dials one. A pooled
// connection is checked with alive() when probe is set or it sat idle for
// probeAfter; the check is a syscall, run outside the lock so that it never
// holds up other requests' gets.
func (h *h1Client) get(ctx context.Context, addr string, probe bool) (*h1Conn, bool, error) {
	now := time.Now()
	for {
		h.mu.Lock()
		list := h.idle[addr]
		if len(list) == 0 {
			h.mu.Unlock()
			break
		}
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		h.idle[addr] = list[:len(list)-1]
		h.mu.Unlock()
		idle := now.Sub(pc.idleAt)
		if h.idleTime > 0 && idle > h.idleTime || (probe || idle >= probeAfter) && !pc.alive() {
			pc.c.Close()
			continue
		}
		return pc, true, nil
	}
	c, err := h.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return newH1Conn(c, addr), false, nil
}

func (h *h1Client) put(pc *h1Conn) {
	now := time.Now()
	pc.idleAt = now
	h.mu.Lock()
	if h.closed || len(h.idle[pc.addr]) >= h.maxIdle || pc.br.Buffered() > 0 {
		h.mu.Unlock()
		pc.c.Close()
		return
	}
	h.idle[pc.addr] = append(h.idle[pc.addr], pc)
	var expired []*h1Conn
	if h.idleTime > 0 && now.Sub(h.lastSweep) > time.Second {
		// Connections to servers that get no traffic any more (removed,
		// drained) are only ever looked at here.
		h.lastSweep = now
		expired = h.sweepLocked(now)
	}
	h.mu.Unlock()
	for _, c := range expired {
		c.c.Close()
	}
}

// sweepLocked takes out the connections idle longer than idleTime; the
// caller closes them outside the lock.
func (h *h1Client) sweepLocked(now time.Time) []*h1Conn {
	var expired []*h1Conn
	for addr, list := range h.idle {
		keep := list[:0]
		for _, pc := range list {
			if now.Sub(pc.idleAt) > h.idleTime {
				expired = append(expired, pc)
			} else {
				keep = append(keep, pc)
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(h.idle, addr)
		} else {
			h.idle[addr] = keep
		}
	}
	return expired
}

// closeIdle closes every pooled connection and stops pooling new ones; the
// proxy calls it on Close.
func (h *h1Client) closeIdle() {
	h.mu.Lock()
	h.closed = true
	idle := h.idle
	h.idle = make(map[string][]*h1Conn)
	h.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.c.Close()
		}
	}
}

// errStaleConn marks a pooled connection the upstream had closed: it
// failed on first use without a response byte.
var errStaleConn = errors.New("upstream closed an idle connection")

// staleError is errStaleConn with whether the request was written.
type staleError struct {
	written bool
	err     error
}

func (e *staleError) Error() string   { return errStaleConn.Error() + ": " + e.err.Error() }
func (e *staleError) Unwrap() []error { return []error{errStaleConn, e.err} }

func (h *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	for try := 0; ; try++ {
		resp, err := h.roundTrip(req)
		if !errors.Is(err, errStaleConn) || try > 0 {
			return resp, err
		}
		// A pooled connection was dead. Like http.Transport, resend once on
		// a new connection if nothing was written, or if the request is
		// idempotent (the upstream closed without answering).
		var se *staleError
		if errors.As(err, &se) && se.written && !idempotent(req) {
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

func (h *h1Client) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// RoundTrip resends an idempotent request without a body once when its
	// pooled connection turns out dead, so such requests skip the liveness
	// probe (one recvfrom each) on connections idle for less than probeAfter.
	probe := !idempotent(req) || req.Body != nil && req.Body != http.NoBody
	pc, reused, err := h.get(ctx, req.URL.Host, probe)
	if err != nil {
		return nil, err
	}
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
		if reused && isConnGone(err) {
			return fail(&staleError{written: false, err: err})
		}
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		if reused && isConnGone(err) {
			return fail(&staleError{written: false, err: err})
		}
		return fail(err)
	}
	if h.respHeader > 0 {
		pc.c.SetReadDeadline(time.Now().Add(h.respHeader))
	}
	var resp *http.Response
	for {
		if reused {
			if _, err := pc.br.Peek(1); err != nil {
				if isConnGone(err) {
					return fail(&staleError{written: true, err: err})
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
	if h.respHeader > 0 {
		pc.c.SetReadDeadline(time.Time{})
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("upstream switched protocols without an Upgrade request"))
	}
	resp.Body = &h1Body{h: h, pc: pc, body: resp.Body, stop: stop, reuse: !resp.Close && !req.Close}
	return resp, nil
}

// h1Body returns its connection to the pool when read to the end, and
// closes it otherwise.
type h1Body struct {
	h     *h1Client
	pc    *h1Conn
	body  io.ReadCloser
	stop  func() bool
	reuse bool
	eof   bool
	done  bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *h1Body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.body.Close()
	if b.stop() && b.eof && b.reuse && err == nil {
		b.h.put(b.pc)
		return nil
	}
	b.pc.c.Close()
	return err
}

var aLongTimeAgo = time.Unix(1, 0)

func newH1Conn(c net.Conn, addr string) *h1Conn {
	pc := &h1Conn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10), addr: addr}
	inner := c
	if cc, ok := c.(*countedConn); ok {
		inner = cc.Conn
	}
	if sc, ok := inner.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			pc.raw = raw
			pc.peekFn = pc.peek
		}
	}
	return pc
}

// alive reports whether an idle pooled connection is still open: a
// non-blocking peek finds the upstream's FIN (or stray bytes) that
// http.Transport's read loop would have noticed while the connection sat
// idle. Without it a POST could be written to a closed connection and fail.
func (pc *h1Conn) alive() bool {
	if pc.raw == nil {
		return true
	}
	pc.live = false
	if err := pc.raw.Read(pc.peekFn); err != nil {
		return false
	}
	return pc.live
}

// peek runs inside RawConn.Read; it never waits for readiness.
func (pc *h1Conn) peek(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), pc.peekB[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// Bytes (out of step), 0 bytes (orderly close) or another error all
	// mean the connection is unusable; EAGAIN (open and quiet) is the only
	// good answer.
	pc.live = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true
}

// isConnGone reports errors that mean the peer closed the connection.
func isConnGone(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}
