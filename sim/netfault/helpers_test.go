package netfault_test

import (
	"io"
	"net"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/netfault"
)

// upstream is a loopback TCP server run for one spec.
type upstream struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// startUpstream serves every connection with handle until the spec ends.
func startUpstream(handle func(net.Conn)) *upstream {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.1.1:0")
	Expect(err).NotTo(HaveOccurred())
	u := &upstream{ln: ln}
	u.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns = append(u.conns, c)
			u.mu.Unlock()
			u.wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	DeferCleanup(func() {
		_ = ln.Close()
		u.mu.Lock()
		for _, c := range u.conns {
			_ = c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *upstream) addr() string { return u.ln.Addr().String() }

// echo copies every byte back and half-closes at the end.
func echo(c net.Conn) {
	_, _ = io.Copy(c, c)
	_ = c.(*net.TCPConn).CloseWrite()
}

// source sends n bytes and closes.
func source(n int64) func(net.Conn) {
	return func(c net.Conn) {
		_, _ = io.CopyN(c, zeros{}, n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// startLink starts a link to addr and closes it after the spec.
func startLink(addr string, seed uint64) *netfault.Link {
	GinkgoHelper()
	l, err := netfault.NewLink(netfault.LinkConfig{Name: "link1", Listen: "127.0.4.1:0", Upstream: addr, Seed: seed})
	Expect(err).NotTo(HaveOccurred())
	Expect(l.Start()).To(Succeed())
	DeferCleanup(l.Close)
	return l
}

// dial connects to the link and closes the connection after the spec.
func dial(l *netfault.Link) *net.TCPConn {
	GinkgoHelper()
	c, err := net.Dial("tcp", l.Addr())
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Close)
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads it back, returning the time it took.
func roundTrip(c net.Conn, msg string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = c.SetDeadline(start.Add(timeout))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return 0, err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return 0, err
	}
	if string(buf) != msg {
		return 0, io.ErrUnexpectedEOF
	}
	return time.Since(start), nil
}
