package proxy

import (
	"net"
	"sync"
	"time"
)

// Hand-offs to net/http: HTTP/2 is its business. A plain connection that
// opens with the HTTP/2 preface (H2C on) goes with the bytes already read;
// a TLS connection that negotiated h2 goes right after its handshake.

// handoff gives an HTTP/2 prior-knowledge connection to net/http.
func (c *conn) handoff() {
	n := c.br.Buffered()
	pre, _ := c.br.Peek(n)
	pre = append([]byte(nil), pre...)
	c.giveAway()
	if !c.e.h2.handoff(&replayConn{Conn: c.rw, pre: pre}) {
		c.rw.Close()
	}
}

// giveAway takes c out of the engine, its buffers back to their pools and
// its deadlines off, for net/http to serve it.
func (c *conn) giveAway() {
	c.mu.Lock()
	c.state = stateHijacked
	c.mu.Unlock()
	c.e.remove(c)
	c.rw.SetDeadline(time.Time{})
	c.release()
}

// handoffListener is the listener net/http serves HTTP/2 prior-knowledge
// connections from: the own loop hands them over with what it read.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// handoff gives c to net/http; false if it is closed.
func (l *handoffListener) handoff(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

// replayConn returns the bytes read before a handoff first.
type replayConn struct {
	net.Conn
	pre []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

var (
	_ net.Listener = (*handoffListener)(nil)
	_ net.Conn     = (*replayConn)(nil)
)
