package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/proxylab/proxylab/proxy/socket"
)

// readPhase says which deadline a read from the connection gets.
type readPhase int

const (
	phaseHeader readPhase = iota // header deadline set once; size limit counted
	phaseBody                    // idle deadline reset on every read
	phaseFixed                   // a deadline set by a handler or the drain
	phaseRaw                     // hijacked: the caller's deadlines
)

// bgState is the state of the one-byte read that notices a client gone
// while a handler runs and parks the connection between requests.
type bgState int

const (
	bgNone bgState = iota
	bgReading
	bgDone
)

// conn is one client connection served by the own loop. Between requests it
// holds no buffer: br and bw are nil while it is parked.
type conn struct {
	e      *engine
	rw     net.Conn
	sock   *socket.Stream // rw's socket read and written directly; nil: through rw
	remote string
	tls    *tls.ConnectionState // the handshake's outcome on a TLS connection, shared by its requests
	ctx    context.Context      // e.ctx with the local address
	cfg    *ServerConfig

	br *bufio.Reader // nil when parked
	bw *bufio.Writer // nil when parked

	// Reading (the handler goroutine only, or the one it hands over to).
	phase    readPhase
	remain   int64     // header bytes left before 431
	hitLimit bool      // remain ran out
	reqDL    time.Time // whole-request deadline (ReadTimeout), or zero
	respDL   time.Time // whole-response deadline (WriteTimeout), or zero
	fixedWDL time.Time // a handler's write deadline, or zero
	wdl      time.Time // the write deadline in force (setWriteDeadline)
	werr     error     // the first write error
	one      [1]byte   // the byte the background read took
	hasByte  bool
	first    bool // no request read yet

	// The wait for readability without a read (TCP); nil raw means the
	// background wait reads one byte instead.
	raw      syscall.RawConn
	waitFn   func(fd uintptr) bool
	awaitFn  func()      // c.await, made once: a go statement with it allocates nothing
	waitCall int         // calls of waitFn in this wait
	waitEOF  bool        // a peek saw the end (or an error) while a handler ran
	woke     bool        // the wait ended on readable bytes: the first read finds them
	hdrLate  bool        // the header deadline waits for a read that might block
	rdl      time.Time   // the read deadline setReadDeadline set last (after the handler: the idle one)
	rdlKnown bool        // rdl is the one in force (false after an abort)
	running  atomic.Bool // a handler runs: a wake-up is checked with a peek

	fixedRead atomic.Bool // the handler set a read deadline (ResponseController)
	handlerRD atomic.Bool // the handler changed the read deadline: rdl is not the one in force
	lastPOST  bool

	mu          sync.Mutex
	state       connState
	bg          bgState
	bgErr       error
	bgAbort     bool // someone else waits for the background read
	bgWait      chan struct{}
	handlerDone bool
	cancelReq   *requestContext // the running handler's request, cancelled if the client goes
	closeOnce   sync.Once
}

func newConn(e *engine, rw net.Conn) *conn {
	c := &conn{e: e, rw: rw, cfg: &e.s.cfg, first: true, state: stateIdle, remote: rw.RemoteAddr().String(),
		ctx: context.WithValue(e.ctx, http.LocalAddrContextKey, rw.LocalAddr())}
	c.awaitFn = c.await
	if c.sock = socket.New(rw); c.sock != nil {
		c.raw = c.sock.RawConn()
	} else if sc, ok := rw.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	if c.raw != nil {
		c.waitFn = c.readable
	}
	return c
}

// Read is what the pooled bufio.Reader reads from.
func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.hasByte {
		c.hasByte = false
		p[0] = c.one[0]
		if c.phase == phaseHeader {
			c.remain--
		}
		return 1, nil
	}
	switch c.phase {
	case phaseHeader:
		if c.remain <= 0 {
			c.hitLimit = true
			return 0, io.EOF
		}
		if int64(len(p)) > c.remain {
			p = p[:c.remain]
		}
	case phaseBody:
		if c.fixedRead.Load() {
			break // the handler's own deadline
		}
		dl := c.reqDL
		if d := c.cfg.BodyReadIdleTimeout; d > 0 {
			if idle := time.Now().Add(d); dl.IsZero() || idle.Before(dl) {
				dl = idle
			}
		}
		c.setReadDeadline(dl)
	}
	var n int
	var err error
	if c.sock != nil {
		n, err = c.sock.Read(p)
	} else {
		n, err = c.rw.Read(p)
	}
	if c.phase == phaseHeader {
		c.remain -= int64(n)
	}
	return n, err
}

// connWriter is what the pooled bufio.Writer writes to. A write blocked on
// a client that does not read fails once no byte has moved for
// WriteIdleTimeout: it waits in windows of a quarter of that, and a window
// in which some bytes went out starts the count again. A window still in
// force is kept while it ends at most an eighth of a window before the one
// a new write would set: an early end only costs one more turn of the loop,
// and most writes then change no timer.
type connWriter conn

func (w *connWriter) Write(p []byte) (int, error) {
	c := (*conn)(w)
	if c.werr != nil {
		return 0, c.werr
	}
	idle := c.cfg.WriteIdleTimeout
	if idle <= 0 || !c.fixedWDL.IsZero() {
		if c.fixedWDL.IsZero() {
			c.setWriteDeadline(c.respDL) // WriteTimeout, or none
		}
		n, err := c.write(p)
		if err != nil {
			c.werr = err
		}
		return n, err
	}
	window := max(idle/4, time.Millisecond)
	total := 0
	now := time.Now()
	last := now
	for {
		dl := now.Add(window)
		if !c.respDL.IsZero() && c.respDL.Before(dl) {
			dl = c.respDL
		}
		if ahead := dl.Sub(c.wdl); c.wdl.IsZero() || !c.wdl.After(now) || ahead < 0 || ahead > window/8 {
			c.setWriteDeadline(dl)
		}
		n, err := c.write(p)
		total += n
		if err == nil {
			return total, nil
		}
		now = time.Now()
		if n > 0 {
			last = now
		}
		if isTimeout(err) && now.Sub(last) < idle && (c.respDL.IsZero() || now.Before(c.respDL)) {
			p = p[n:]
			continue
		}
		c.werr = err
		return total, err
	}
}

// write writes p to the socket.
func (c *conn) write(p []byte) (int, error) {
	if c.sock != nil {
		return c.sock.Write(p)
	}
	return c.rw.Write(p)
}

// setReadDeadline sets the connection's read deadline and remembers it.
func (c *conn) setReadDeadline(t time.Time) {
	c.rw.SetReadDeadline(t)
	c.rdl, c.rdlKnown = t, true
}

// setWriteDeadline sets the connection's write deadline unless it is
// already t, and remembers it.
func (c *conn) setWriteDeadline(t time.Time) error {
	if t.Equal(c.wdl) {
		return nil
	}
	c.wdl = t
	return c.rw.SetWriteDeadline(t)
}

// serve runs the keep-alive loop until the connection closes, is hijacked
// or parks (another goroutine then goes on).
func (c *conn) serve() {
	if tc, ok := c.rw.(*tls.Conn); ok && c.first && c.tls == nil && !c.handshake(tc) {
		return
	}
	for {
		if !c.first {
			// A new connection counts as idle until its first request
			// arrives: Shutdown closes it rather than wait.
			c.setState(stateActive)
		}
		if c.br == nil {
			c.br = getReader(c)
		}
		if d := c.cfg.ReadHeaderTimeout; d > 0 {
			if c.woke && c.br.Buffered() == 0 {
				// The first read returns at once with what woke the wait;
				// the deadline is set only if the block needs another.
				c.hdrLate = true
			} else {
				c.setReadDeadline(time.Now().Add(d))
			}
		}
		c.woke = false
		w, verdict := c.readRequest()
		c.hdrLate = false
		if c.first {
			c.first = false
			c.setState(stateActive)
		}
		if verdict == verdictHandoff {
			c.handoff()
			return
		}
		if verdict == verdictClose || c.e.closing.Load() {
			c.close()
			return
		}
		switch c.runHandler(w) {
		case nextClose:
			c.close()
			return
		case nextHijacked, nextParked:
			return
		}
		// nextLoop: the next request is buffered or its first byte read.
	}
}

// next says what follows a request.
type next int

const (
	nextLoop next = iota
	nextClose
	nextHijacked
	nextParked
)

// runHandler serves one request and decides what follows.
func (c *conn) runHandler(w *response) (n next) {
	defer func() {
		if err := recover(); err != nil {
			if err != http.ErrAbortHandler {
				const size = 64 << 10
				buf := make([]byte, size)
				buf = buf[:runtime.Stack(buf, false)]
				c.e.s.logf("http: panic serving %v: %v\n%s", w.req.RemoteAddr, err, buf)
			}
			w.endContext()
			if w.hijacked {
				n = nextHijacked
				return
			}
			c.abortBackground()
			n = nextClose
		}
	}()
	c.e.h.ServeHTTP(w, w.req)
	w.endContext()
	if w.hijacked {
		return nextHijacked
	}
	w.finish()
	if !w.reuse() {
		if w.body != nil {
			if sawEOF, _ := w.body.done(); !sawEOF {
				c.closeWriteAndWait()
			}
		}
		return nextClose
	}
	if c.e.closing.Load() {
		return nextClose
	}
	return c.afterRequest()
}

// afterRequest hands the connection to the next request: at once if one is
// buffered, else through the background read, parked without buffers.
func (c *conn) afterRequest() next {
	if c.br.Buffered() > 0 {
		c.mu.Lock()
		if c.bg != bgNone {
			c.mu.Unlock()
			c.abortBackground()
		} else {
			c.mu.Unlock()
		}
		c.phase = phaseHeader
		return nextLoop
	}
	c.release()
	c.setState(stateIdle)
	c.mu.Lock()
	// Set under the lock: a wait woken by an earlier deadline tells this
	// one from it (await). The last request's idle deadline, still in
	// force when the request needed no other, is kept while it ends at
	// most an eighth of IdleTimeout (and a second) early: back-to-back
	// requests change no timer.
	var idle time.Time
	d := c.cfg.IdleTimeout
	if d > 0 {
		idle = time.Now().Add(d)
	}
	if keep := c.rdlKnown && !c.handlerRD.Load() && !idle.IsZero() && !c.rdl.IsZero() && !c.rdl.After(idle) &&
		idle.Sub(c.rdl) <= min(d/8, time.Second); !keep {
		c.setReadDeadline(idle)
	}
	switch c.bg {
	case bgNone:
		c.bg = bgReading
		c.handlerDone = true
		c.mu.Unlock()
		go c.awaitFn()
		return nextParked
	case bgReading:
		c.handlerDone = true
		c.mu.Unlock()
		return nextParked // await goes on
	default: // bgDone
		err := c.bgErr
		c.bg, c.bgErr = bgNone, nil
		c.mu.Unlock()
		if err != nil && !isTimeout(err) {
			return nextClose
		}
		if !c.hasByte && c.raw == nil {
			c.mu.Lock()
			c.bg, c.handlerDone = bgReading, true
			c.mu.Unlock()
			go c.awaitFn()
			return nextParked
		}
		return nextLoop
	}
}

// release gives the buffers back to their pools.
func (c *conn) release() {
	if c.br != nil {
		putReader(c, c.br)
		c.br = nil
	}
	if c.bw != nil {
		putWriter(c, c.bw)
		c.bw = nil
	}
}

func (c *conn) setState(s connState) {
	c.mu.Lock()
	if c.state != stateClosed && c.state != stateHijacked {
		c.state = s
	}
	c.mu.Unlock()
}

// closeIfIdle closes the connection if it waits between requests and
// reports whether it is no longer active.
func (c *conn) closeIfIdle() bool {
	c.mu.Lock()
	st := c.state
	if st == stateIdle {
		c.state = stateClosed
	}
	c.mu.Unlock()
	switch st {
	case stateIdle:
		c.rw.Close()
		return true
	case stateActive:
		return false
	}
	return true
}

// close closes the connection once and forgets it.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.state = stateClosed
		c.mu.Unlock()
		if c.bw != nil {
			c.bw.Flush()
		}
		c.rw.Close()
		c.release()
		c.e.remove(c)
	})
}

// closeWriteAndWait half-closes and waits a moment so the client reads the
// response before a reset, as net/http.
func (c *conn) closeWriteAndWait() {
	if c.bw != nil {
		c.bw.Flush()
	}
	if cw, ok := c.rw.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	time.Sleep(500 * time.Millisecond)
}

// hijack hands the connection to a handler with what is buffered.
func (c *conn) hijack() (net.Conn, *bufio.ReadWriter, error) {
	c.abortBackground()
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return nil, nil, net.ErrClosed
	}
	c.state = stateHijacked
	c.mu.Unlock()
	c.e.remove(c)
	c.phase = phaseRaw
	c.setReadDeadline(time.Time{})
	if c.respDL.IsZero() {
		c.setWriteDeadline(time.Time{})
	}
	br := c.br
	if br == nil {
		br = bufio.NewReader(c)
	}
	if c.hasByte {
		// The byte the wait took goes into the reader handed over, where a
		// tunnel looks for what was read before it splices.
		br.Peek(1)
	}
	if c.br != nil && br.Size() == readBufferSize {
		c.e.held.Add(-1) // given to the hijacker, never back to the pool
	}
	if c.bw != nil {
		c.bw.Flush()
	}
	// The hijacker's writer must not be returned to the pool.
	bw := bufio.NewWriterSize(c.rw, writeBufferSize)
	if c.bw != nil {
		putWriter(c, c.bw)
		c.bw = nil
	}
	c.br = nil
	return c.rw, bufio.NewReadWriter(br, bw), nil
}

func (s *Server) logf(format string, args ...any) {
	if s.errorLog != nil {
		s.errorLog(fmt.Sprintf(format, args...))
	}
}
