package server

import (
	"context"
	"net"
	"sync"
)

// trackedListener hands out trackedConns and remembers every open one, so a
// crash can kill them all, hijacked (WebSocket, h2c) ones included.
type trackedListener struct {
	*net.TCPListener

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newTrackedListener(ln *net.TCPListener) *trackedListener {
	return &trackedListener{TCPListener: ln, conns: map[*trackedConn]struct{}{}}
}

// Accept waits for the next connection and tracks it.
func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{TCPConn: c, owner: l, rec: &recorder{}}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// count returns the number of open connections.
func (l *trackedListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// killAll resets every open connection.
func (l *trackedListener) killAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.reset()
	}
}

// trackedConn is an accepted connection that records the bytes it reads (so
// /echo can show headers in the order sent) and leaves its listener's set
// when closed.
type trackedConn struct {
	*net.TCPConn
	owner *trackedListener
	rec   *recorder
	once  sync.Once
}

// Read reads from the connection and records what it read.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 {
		c.rec.write(p[:n])
	}
	return n, err
}

// Close closes the connection once and forgets it.
func (c *trackedConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.conns, c)
		c.owner.mu.Unlock()
		err = c.TCPConn.Close()
	})
	return err
}

// reset closes the connection with an RST rather than a FIN.
func (c *trackedConn) reset() {
	_ = c.SetLinger(0)
	_ = c.Close()
}

type connKey struct{}

// connFrom returns the connection a request arrived on, if it is known.
func connFrom(ctx context.Context) *trackedConn {
	v := ctx.Value(connKey{})
	if c, ok := v.(*trackedConn); ok {
		return c
	}
	c, _ := tlsConn(v)
	return c
}

// gate counts running handlers and lets a stop wait for them; once closed it
// admits no new ones.
type gate struct {
	mu     sync.Mutex
	closed bool
	active int
	idle   chan struct{} // closed when closed && active == 0
}

func newGate() *gate { return &gate{idle: make(chan struct{})} }

func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.active++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active--
	if g.closed && g.active == 0 {
		close(g.idle)
	}
}

// close admits no more handlers and returns a channel closed when the last
// running one leaves.
func (g *gate) close() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		if g.active == 0 {
			close(g.idle)
		}
	}
	return g.idle
}
