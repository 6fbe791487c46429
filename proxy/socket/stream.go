package socket

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
)

// Stream reads and writes one connection's socket with raw system calls.
// One Read and one Write may run at once; a second concurrent Read (or
// Write) goes through the connection's own method instead.
type Stream struct {
	conn    net.Conn
	raw     syscall.RawConn
	network string // "tcp" or "unix", for errors

	reading atomic.Bool
	rb      []byte
	rn      int
	rerr    syscall.Errno
	readFn  func(fd uintptr) bool // s.readStep, bound once

	writing atomic.Bool
	wb      []byte
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool // s.writeStep, bound once
}

// New returns a Stream on c's socket, or nil when it cannot be used
// directly (see the package doc). A wrapper with a NetConn() net.Conn method
// is unwrapped: the Stream then reads and writes past the wrapper's Read
// and Write, so a wrapper that must see every byte should not have one.
func New(c net.Conn) *Stream {
	if !available {
		return nil
	}
	if c = Unwrap(c); c == nil {
		return nil
	}
	network := "tcp"
	switch c := c.(type) {
	case *net.TCPConn:
	case *net.UnixConn:
		if a, ok := c.LocalAddr().(*net.UnixAddr); !ok || a == nil || a.Net != "unix" {
			return nil // datagrams and packets: a read of nothing is not the end
		}
		network = "unix"
	default:
		return nil
	}
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	s := &Stream{conn: c, raw: raw, network: network}
	s.readFn, s.writeFn = s.readStep, s.writeStep
	return s
}

// Unwrap follows c's NetConn() net.Conn methods down to the connection
// whose socket carries the peer's bytes; nil when that is a TLS connection
// (its socket carries records).
func Unwrap(c net.Conn) net.Conn {
	for {
		if _, ok := c.(*tls.Conn); ok {
			return nil
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = u.NetConn()
	}
}

// RawConn returns the socket's syscall.RawConn, for callers that also wait
// on it or peek at it.
func (s *Stream) RawConn() syscall.RawConn { return s.raw }

// Conn returns the connection whose socket the Stream uses.
func (s *Stream) Conn() net.Conn { return s.conn }

// Read reads like the connection's Read: at most len(p) bytes, waiting for
// some until the read deadline; io.EOF at the end.
func (s *Stream) Read(p []byte) (int, error) {
	if len(p) == 0 || !s.reading.CompareAndSwap(false, true) {
		return s.conn.Read(p)
	}
	s.rb, s.rn, s.rerr = p, 0, 0
	err := s.raw.Read(s.readFn)
	n, errno := s.rn, s.rerr
	s.rb = nil
	s.reading.Store(false)
	switch {
	case err != nil:
		return 0, s.opError("read", err)
	case errno != 0:
		return 0, s.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (s *Stream) readStep(fd uintptr) bool {
	n, errno := rawIO(sysRead, fd, s.rb)
	if errno == syscall.EAGAIN {
		return false
	}
	s.rn, s.rerr = n, errno
	return true
}

// Write writes all of p like the connection's Write, waiting while the
// socket buffer is full until the write deadline.
func (s *Stream) Write(p []byte) (int, error) {
	if len(p) == 0 || !s.writing.CompareAndSwap(false, true) {
		return s.conn.Write(p)
	}
	s.wb, s.wn, s.werr = p, 0, 0
	err := s.raw.Write(s.writeFn)
	n, errno := s.wn, s.werr
	s.wb = nil
	s.writing.Store(false)
	switch {
	case errno != 0:
		return n, s.opError("write", os.NewSyscallError("write", errno))
	case err != nil:
		return n, s.opError("write", err)
	}
	return n, nil
}

func (s *Stream) writeStep(fd uintptr) bool {
	for len(s.wb) > 0 {
		n, errno := rawIO(sysWrite, fd, s.wb)
		switch {
		case errno == syscall.EAGAIN:
			return false
		case errno != 0:
			s.werr = errno
			return true
		}
		s.wn += n
		s.wb = s.wb[n:]
	}
	return true
}

// opError gives err the shape net.Conn's errors have; the RawConn's own
// errors (deadline, closed) already are *net.OpError and keep their cause.
func (s *Stream) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: s.network, Source: s.conn.LocalAddr(), Addr: s.conn.RemoteAddr(), Err: err}
}
