package loadgen

import (
	"bufio"
	"io"
	"net"
	"syscall"
	"time"
)

// staleAfter is how long a connection may sit idle and still have its
// request written by the read (fastConn.Read). A server that closed the
// connection meanwhile answers the request with a RST, which wakes the read;
// but one that only half-closed it (its FIN reported by the poller before
// RawConn.Read forgot that readiness) and reads on would leave the request
// waiting for its timeout instead of failing at once with EOF and being
// retried. Servers close idle connections, so past this idle time the request
// is written first and the read tries the socket before it waits.
const staleAfter = time.Second

// fastConn is one HTTP/1.1 connection of HTTPDoer. It is the io.Reader under
// its bufio.Reader, which lets it save a system call per request on sockets:
//
// Go's net.Conn.Read tries read(2) first and waits for readiness only on
// EAGAIN, so a request written just before costs a read that fails (the
// response cannot be there yet), a park and a second read. When out is set,
// Read instead writes out with write(2) inside syscall.RawConn.Read, after the
// poller's readiness state was reset, and waits for readiness before the
// first read: the response, or the RST to a request on a connection the
// server closed, is what wakes it. One write and one read per request.
type fastConn struct {
	nc       net.Conn
	rc       syscall.RawConn // nil when nc is not a *net.TCPConn (WithDialer)
	br       *bufio.Reader   // reads from the fastConn itself
	deadline time.Time       // the last one set
	lastUsed time.Time       // when its last request was sent (zero: never)
	// lastServer is the last value of HTTPConfig.ServerHeader received, so
	// that a repeated one costs no allocation.
	lastServer string

	// One exchange, set by Read for exchangeFn.
	out        []byte // request bytes still to write before waiting
	in         []byte // where the next read goes
	n          int
	err        error
	exchangeFn func(fd uintptr) bool // c.exchange, bound once
}

func newFastConn(nc net.Conn) *fastConn {
	c := &fastConn{nc: nc}
	c.br = bufio.NewReaderSize(c, 16<<10)
	if sc, ok := nc.(syscall.Conn); ok && rawExchange {
		if _, isTCP := nc.(*net.TCPConn); isTCP {
			if rc, err := sc.SyscallConn(); err == nil {
				c.rc = rc
				c.exchangeFn = c.exchange
			}
		}
	}
	return c
}

// send prepares request for the connection: with the raw exchange it is
// written by the next Read (the one the response needs: nothing is
// buffered); otherwise it is written now.
func (c *fastConn) send(request []byte, now time.Time) error {
	fresh := c.rc != nil && c.br.Buffered() == 0 && !c.lastUsed.IsZero() && now.Sub(c.lastUsed) < staleAfter
	c.lastUsed = now
	if fresh {
		c.out = request
		return nil
	}
	_, err := c.nc.Write(request)
	return err
}

// Read reads into p; when a request is pending (send), it first writes it
// and then waits for the response without a failing read.
func (c *fastConn) Read(p []byte) (int, error) {
	if c.rc == nil {
		return c.nc.Read(p)
	}
	for {
		c.in, c.n, c.err = p, 0, nil
		err := c.rc.Read(c.exchangeFn)
		c.in = nil
		if err != nil {
			c.out = nil
			return 0, err
		}
		if len(c.out) == 0 || c.err != nil {
			c.out = nil
			return c.n, c.err
		}
		// The socket took part of the request: write the rest the usual
		// way, then read (trying the socket first).
		rest := c.out
		c.out = nil
		if _, err := c.nc.Write(rest); err != nil {
			return 0, err
		}
	}
}

// exchange is the syscall.RawConn.Read callback: it writes out (if any) and
// asks to wait, then reads once the socket is readable.
func (c *fastConn) exchange(fd uintptr) bool {
	if len(c.out) > 0 {
		n, err := rawIO(sysWrite, fd, c.out)
		switch {
		case err == syscall.EAGAIN:
			return true // the socket is full: Read writes the rest
		case err != nil:
			c.out, c.err = nil, err
			return true
		}
		c.out = c.out[n:]
		return len(c.out) > 0 // a partial write: Read writes the rest
	}
	n, err := rawIO(sysRead, fd, c.in)
	switch {
	case err == syscall.EAGAIN:
		return false // woken early: wait again
	case err != nil:
		c.err = err
	case n == 0:
		c.err = io.EOF
	default:
		c.n = n
	}
	return true
}

var _ io.Reader = (*fastConn)(nil)
