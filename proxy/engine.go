package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The proxylab engine: the Server's own HTTP/1.1 keep-alive loop on plain
// listeners (conn.go, request.go, body.go, response.go). net/http's
// conn.serve keeps a 4 KiB bufio.Reader, a 4 KiB bufio.Writer and a grown
// stack for a connection's whole life; this loop gives its buffers back to
// pools whenever nothing is buffered between requests and waits for the
// next one in a fresh goroutine reading one byte, so an idle keep-alive
// connection holds the socket, a conn struct and a small stack.
//
//	accept ──▶ conn.serve ──▶ header block judged (framing.go) ──▶ parsed (requesthead.go)
//	   ▲             │              │ refused: 400 and close
//	   │             ▼
//	   │        handler(w, r) ── body: Content-Length or checked chunks,
//	   │             │           a read idle deadline, 100-continue
//	   │             ▼           response: a write idle deadline
//	   │        finish: drain what is left of the body (bounded) or close
//	   │             │
//	   └── park ◀────┘ buffers back to their pools; a one-byte read waits
//	                   (the same read notices a client gone mid-request)
//
// HTTP/2 is net/http's: prior knowledge on a plain listener with H2C on is
// handed to it with the bytes already read, and a TLS connection (ServeTLS,
// tls.go) that negotiated h2 right after its handshake.

const (
	// maxPostHandlerReadBytes is how much of a body a handler left unread
	// is drained to keep the connection, as net/http.
	maxPostHandlerReadBytes = 256 << 10
	readBufferSize          = 4 << 10
	writeBufferSize         = 4 << 10
	// bodyBufferSize is how much of a response is held to compute its
	// Content-Length when the handler returns first.
	bodyBufferSize = 2 << 10
)

// Buffer pools shared by every proxylab-engine connection. Each engine
// counts what its connections take and give back (held), for the specs: a
// parked connection holds nothing.
var (
	readerPool   sync.Pool
	writerPool   sync.Pool
	bodyBufPool  = sync.Pool{New: func() any { b := make([]byte, 0, bodyBufferSize); return &b }}
	aLongTimeAgo = time.Unix(1, 0)
)

func getReader(r *conn) *bufio.Reader {
	r.e.held.Add(1)
	if v := readerPool.Get(); v != nil {
		br := v.(*bufio.Reader)
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, readBufferSize)
}

func putReader(c *conn, br *bufio.Reader) {
	if br.Size() != readBufferSize {
		return // grown for a big header block: left to the collector
	}
	c.e.held.Add(-1)
	br.Reset(nil)
	readerPool.Put(br)
}

func getWriter(c *conn) *bufio.Writer {
	c.e.held.Add(1)
	if v := writerPool.Get(); v != nil {
		bw := v.(*bufio.Writer)
		bw.Reset((*connWriter)(c))
		return bw
	}
	return bufio.NewWriterSize((*connWriter)(c), writeBufferSize)
}

func putWriter(c *conn, bw *bufio.Writer) {
	c.e.held.Add(-1)
	bw.Reset(nil)
	writerPool.Put(bw)
}

// connState is where a proxylab-engine connection is, for Shutdown.
type connState int32

const (
	stateActive connState = iota
	stateIdle
	stateHijacked
	stateClosed
)

// engine holds the own loop's per-Server state.
type engine struct {
	s       *Server
	h       http.Handler
	ctx     context.Context // values of every request: the Server, the http.Server
	cancel  context.CancelFunc
	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing atomic.Bool
	h2      *handoffListener // nil without H2C
	h2tls   *handoffListener // TLS connections that negotiated h2; nil until ServeTLS offers it

	held        atomic.Int64 // pooled buffers taken and not given back
	handoff     chan *conn   // to an idle worker
	idleWorkers atomic.Int64
	stop        chan struct{} // closed when the engine is done: workers leave
	stopOnce    sync.Once
}

func newEngine(s *Server, h http.Handler) *engine {
	ctx := context.WithValue(context.Background(), serverKey{}, s)
	ctx = context.WithValue(ctx, http.ServerContextKey, s.srv)
	ctx, cancel := context.WithCancel(ctx)
	return &engine{s: s, h: h, ctx: ctx, cancel: cancel, conns: make(map[*conn]struct{}),
		handoff: make(chan *conn), stop: make(chan struct{})}
}

// serve accepts on ln until it fails or the engine closes.
func (e *engine) serve(ln net.Listener) error {
	var delay time.Duration
	for {
		rw, err := ln.Accept()
		if err != nil {
			if e.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-e.ctx.Done():
					t.Stop()
					return http.ErrServerClosed
				}
				continue
			}
			return err
		}
		delay = 0
		c := newConn(e, rw)
		if !e.add(c) {
			rw.Close()
			return http.ErrServerClosed
		}
		e.run(c)
	}
}

// maxIdleWorkers bounds the goroutines kept waiting to serve a connection
// that wakes up: their stacks are already grown by serving, so a request
// does not pay for growing a fresh one. The bound is per engine, not per
// connection.
const maxIdleWorkers = 64

// workerIdle is how long a worker waits for a connection before it leaves:
// after a burst, the goroutines go back to what the open connections need.
const workerIdle = 500 * time.Millisecond

// run serves c on an idle worker when there is one, else on a new
// goroutine that becomes a worker afterwards.
func (e *engine) run(c *conn) {
	select {
	case e.handoff <- c:
	default:
		go e.serveAndWork(c)
	}
}

// serve serves c here when no idle worker takes it (the caller's stack is
// the small one of a wait), then offers this goroutine as a worker.
func (e *engine) serveHere(c *conn) {
	select {
	case e.handoff <- c:
		return
	default:
	}
	e.serveAndWork(c)
}

func (e *engine) serveAndWork(c *conn) {
	c.serve()
	// The idle timer is set once per workerIdle, not once per request: when
	// it fires after work, it is set again for what is left of workerIdle
	// since that work ended.
	var idle *time.Timer
	var done time.Time // when this worker last finished serving
	for e.idleWorkers.Add(1) <= maxIdleWorkers {
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		}
		select {
		case c := <-e.handoff:
			e.idleWorkers.Add(-1)
			c.serve()
			done = time.Now()
		case <-idle.C:
			e.idleWorkers.Add(-1)
			if rest := workerIdle - time.Since(done); !done.IsZero() && rest > 0 {
				idle.Reset(rest)
				done = time.Time{}
				continue
			}
			return
		case <-e.stop:
			e.idleWorkers.Add(-1)
			idle.Stop()
			return
		}
	}
	e.idleWorkers.Add(-1)
	if idle != nil {
		idle.Stop()
	}
}

// stopWorkers lets the idle workers go.
func (e *engine) stopWorkers() {
	e.stopOnce.Do(func() { close(e.stop) })
}

func (e *engine) add(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing.Load() {
		return false
	}
	e.conns[c] = struct{}{}
	return true
}

func (e *engine) remove(c *conn) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
}

// closeIdle closes idle connections and reports whether none is left
// active.
func (e *engine) closeIdle() bool {
	e.mu.Lock()
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	quiet := true
	for _, c := range conns {
		if !c.closeIfIdle() {
			quiet = false
		}
	}
	return quiet
}

// shutdown stops keep-alive, closes idle connections as they become idle
// and returns once none is active, or with ctx's error.
func (e *engine) shutdown(ctx context.Context) error {
	e.closing.Store(true)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !e.closeIdle() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	e.stopWorkers()
	return nil
}

// close cuts every connection the engine still serves and cancels the
// requests in flight.
func (e *engine) close() {
	e.closing.Store(true)
	e.cancel()
	e.stopWorkers()
	e.mu.Lock()
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	for _, c := range conns {
		c.rw.Close()
	}
}
