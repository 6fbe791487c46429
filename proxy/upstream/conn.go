package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/proxylab/proxylab/proxy/socket"
)

// Conn is one pooled upstream connection with its buffers. It belongs to one
// exchange at a time: from Client.Get until Client.Put or Close.
type Conn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	addr   string
	idleAt time.Time
	reused bool
	// lapse: a read deadline Await set is still on the socket; the next
	// read through br (or the liveness peek, or Hook) takes it off first.
	// Most responses are read whole by Await, so most never pay for it.
	lapse   bool
	lapseAt time.Time // the deadline lapse refers to

	sock   *socket.Stream        // the socket read and written directly; nil: through c
	raw    syscall.RawConn       // for the liveness peek; nil if unavailable
	peekFn func(fd uintptr) bool // peek, bound once
	live   bool                  // result of the last peek
}

func newConn(c net.Conn, addr string, size int) *Conn {
	pc := &Conn{c: c, addr: addr}
	pc.br = bufio.NewReaderSize((*connReader)(pc), size)
	if pc.sock = socket.New(c); pc.sock != nil {
		pc.raw = pc.sock.RawConn()
		pc.bw = bufio.NewWriterSize(pc.sock, size)
	} else {
		if sc, ok := socket.Unwrap(c).(syscall.Conn); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				pc.raw = raw
			}
		}
		pc.bw = bufio.NewWriterSize(c, size)
	}
	if pc.raw != nil {
		pc.peekFn = pc.peek
	}
	return pc
}

// connReader is what the connection's bufio.Reader reads from.
type connReader Conn

func (r *connReader) Read(p []byte) (int, error) {
	pc := (*Conn)(r)
	pc.unlapse()
	if pc.sock != nil {
		return pc.sock.Read(p)
	}
	return pc.c.Read(p)
}

// unlapse takes off a read deadline Await left on the socket.
func (pc *Conn) unlapse() {
	if pc.lapse {
		pc.lapse = false
		pc.c.SetReadDeadline(time.Time{})
	}
}

// Reader is the connection's buffered reader.
func (pc *Conn) Reader() *bufio.Reader { return pc.br }

// Writer is the connection's buffered writer; flush it before reading.
func (pc *Conn) Writer() *bufio.Writer { return pc.bw }

// NetConn is the underlying connection (for deadlines), with no deadline
// of Await's left on it.
func (pc *Conn) NetConn() net.Conn {
	pc.unlapse()
	return pc.c
}

// Addr is the address the connection was dialed for.
func (pc *Conn) Addr() string { return pc.addr }

// Reused reports whether the connection came from the pool (it may have
// been closed by the upstream meanwhile; see StaleError).
func (pc *Conn) Reused() bool { return pc.reused }

// Close closes the connection; it is not pooled again.
func (pc *Conn) Close() error { return pc.c.Close() }

// alive reports whether an idle pooled connection is still open: a
// non-blocking peek finds the upstream's FIN (or stray bytes) that
// http.Transport's read loop would have noticed while the connection sat
// idle. Without it a POST could be written to a closed connection and fail.
func (pc *Conn) alive() bool {
	if pc.raw == nil {
		return true
	}
	pc.live = false
	pc.unlapse() // the poller refuses a read past a deadline, even a peek
	if err := pc.raw.Read(pc.peekFn); err != nil {
		return false
	}
	return pc.live
}

// peek runs inside RawConn.Read; it never waits for readiness.
func (pc *Conn) peek(fd uintptr) bool {
	// Bytes (out of step), 0 bytes (orderly close) or another error all
	// mean the connection is unusable; nothing to read (open and quiet) is
	// the only good answer.
	readable, _ := socket.Peek(fd)
	pc.live = !readable
	return true
}

// ErrStaleConn marks a pooled connection the upstream had closed: it failed
// on first use without a response byte.
var ErrStaleConn = errors.New("upstream closed an idle connection")

// StaleError is ErrStaleConn with whether the request was written whole
// before the failure. A request that was not written, or an idempotent one,
// can be resent once on a new connection (as http.Transport does).
type StaleError struct {
	Written bool
	Err     error
}

func (e *StaleError) Error() string   { return ErrStaleConn.Error() + ": " + e.Err.Error() }
func (e *StaleError) Unwrap() []error { return []error{ErrStaleConn, e.Err} }

// IsConnGone reports errors that mean the peer closed the connection.
func IsConnGone(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}
