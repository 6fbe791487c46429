package socket

import "net"

// Conn is a TCP connection whose Read and Write go through a Stream; the
// rest is the *net.TCPConn's (deadlines, CloseWrite, and the splice of its
// ReadFrom and WriteTo). It is for code that takes a net.Conn and reads
// and writes it itself, such as crypto/tls.
type Conn struct {
	*net.TCPConn
	s *Stream
}

// Wrap returns c as a *Conn when it is a TCP connection a Stream can use,
// and c itself otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	s := New(tc)
	if s == nil {
		return c
	}
	return &Conn{TCPConn: tc, s: s}
}

// Read reads through the Stream.
func (c *Conn) Read(p []byte) (int, error) { return c.s.Read(p) }

// Write writes through the Stream.
func (c *Conn) Write(p []byte) (int, error) { return c.s.Write(p) }

// NetConn returns the TCP connection.
func (c *Conn) NetConn() net.Conn { return c.TCPConn }

// Listener returns ln with every TCP connection it accepts wrapped by Wrap:
// under tls.NewListener, TLS records are then read and written with raw
// calls too.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

var (
	_ net.Conn     = (*Conn)(nil)
	_ net.Listener = listener{}
)
