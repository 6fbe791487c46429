package socket_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/socket"
)

// tcpPair returns both ends of a loopback TCP connection, closed after the
// spec.
func tcpPair() (*net.TCPConn, *net.TCPConn) {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	Expect(err).NotTo(HaveOccurred())
	b := <-accepted
	Expect(b).NotTo(BeNil())
	DeferCleanup(func() { _ = a.Close(); _ = b.Close() }) // some specs close them first
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// rawPeek peeks at c's socket through its RawConn, as a wait callback does.
func rawPeek(c *net.TCPConn) (readable, end bool) {
	GinkgoHelper()
	raw, err := c.SyscallConn()
	Expect(err).NotTo(HaveOccurred())
	Expect(raw.Control(func(fd uintptr) { readable, end = socket.Peek(fd) })).To(Succeed())
	return readable, end
}

// wrapper wraps a connection the way a connection-limit or counting
// wrapper does, exposing it with NetConn; its own Read fails.
type wrapper struct{ net.Conn }

func (w wrapper) NetConn() net.Conn          { return w.Conn }
func (w wrapper) Read(p []byte) (int, error) { return 0, errors.New("wrapper Read called") }

var _ = Describe("Stream", func() {
	It("should be made only on a connection whose socket carries the peer's bytes", func() {
		a, _ := tcpPair()
		Expect(socket.New(a)).NotTo(BeNil())
		Expect(socket.New(a).Conn()).To(BeIdenticalTo(a))

		p1, p2 := net.Pipe() // no socket
		DeferCleanup(p1.Close)
		DeferCleanup(p2.Close)
		Expect(socket.New(p1)).To(BeNil())

		dir := GinkgoT().TempDir()
		ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: dir + "/s", Net: "unix"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(ul.Close)
		uc, err := net.Dial("unix", dir+"/s")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(uc.Close)
		us := socket.New(uc)
		Expect(us).NotTo(BeNil(), "a Unix stream socket")
		sc, err := ul.Accept()
		Expect(err).NotTo(HaveOccurred())
		_, err = sc.Write([]byte("unix"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Close()).To(Succeed())
		Expect(io.ReadAll(us)).To(Equal([]byte("unix")), "read to its end (io.EOF)")
		ug, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dir + "/g", Net: "unixgram"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(ug.Close)
		Expect(socket.New(ug)).To(BeNil(), "datagrams: a read of nothing is not the end")

		c, _ := tcpPair()
		Expect(socket.New(tls.Client(c, &tls.Config{}))).To(BeNil(), "TLS records, not the peer's bytes")
		Expect(socket.New(wrapper{tls.Client(c, &tls.Config{})})).To(BeNil(), "not even under a wrapper")
	})

	It("should unwrap a wrapper with NetConn and use the socket under it", func() {
		a, b := tcpPair()
		w := wrapper{a}
		Expect(socket.Unwrap(w)).To(BeIdenticalTo(a))
		Expect(socket.Unwrap(wrapper{tls.Client(a, &tls.Config{})})).To(BeNil())
		s := socket.New(w)
		Expect(s).NotTo(BeNil())
		Expect(s.Conn()).To(BeIdenticalTo(a))
		_, err := b.Write([]byte("hi"))
		Expect(err).NotTo(HaveOccurred())
		buf := make([]byte, 4)
		n, err := s.Read(buf)
		Expect(err).NotTo(HaveOccurred(), "the wrapper's Read (which fails) is not called")
		Expect(string(buf[:n])).To(Equal("hi"))
	})

	It("should carry bytes both ways, and write all of a buffer larger than the socket's", func() {
		a, b := tcpPair()
		sa, sb := socket.New(a), socket.New(b)
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB: many partial writes and waits
		got := make(chan []byte, 1)
		go func() {
			defer GinkgoRecover()
			buf, err := io.ReadAll(io.LimitReader(sb, int64(len(big))))
			Expect(err).NotTo(HaveOccurred())
			got <- buf
		}()
		n, err := sa.Write(big)
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(Equal(len(big)))
		Eventually(got).WithTimeout(10 * time.Second).Should(Receive(Equal(big)))

		_, err = sb.Write([]byte("back"))
		Expect(err).NotTo(HaveOccurred())
		buf := make([]byte, 16)
		n, err = sa.Read(buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(buf[:n])).To(Equal("back"))
	})

	It("should give io.EOF once the peer closed and everything was read", func() {
		a, b := tcpPair()
		s := socket.New(a)
		_, err := b.Write([]byte("last"))
		Expect(err).NotTo(HaveOccurred())
		Expect(b.Close()).To(Succeed())
		buf, err := io.ReadAll(s)
		Expect(err).NotTo(HaveOccurred(), "ReadAll stops at io.EOF")
		Expect(string(buf)).To(Equal("last"))
		n, err := s.Read(make([]byte, 8))
		Expect(n).To(BeZero())
		Expect(err).To(Equal(io.EOF))
	})

	It("should keep the connection's read deadline, with a timeout error net.Conn's shape", func() {
		a, _ := tcpPair()
		s := socket.New(a)
		Expect(a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))).To(Succeed())
		_, err := s.Read(make([]byte, 8))
		Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "%v", err)
		var ne net.Error
		Expect(errors.As(err, &ne)).To(BeTrue())
		Expect(ne.Timeout()).To(BeTrue())
		var oe *net.OpError
		Expect(errors.As(err, &oe)).To(BeTrue())
		Expect(oe.Op).To(Equal("read"))
		Expect(oe.Addr).To(Equal(a.RemoteAddr()))
	})

	It("should keep the connection's write deadline when the peer reads nothing", func() {
		a, _ := tcpPair()
		s := socket.New(a)
		Expect(a.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))).To(Succeed())
		n, err := s.Write(make([]byte, 64<<20)) // more than both socket buffers hold
		Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "%v", err)
		Expect(n).To(BeNumerically(">", 0), "what went out before the deadline is counted")
		Expect(n).To(BeNumerically("<", 64<<20))
	})

	It("should end a read blocked in another goroutine when the connection is closed", func() {
		a, _ := tcpPair()
		s := socket.New(a)
		done := make(chan error, 1)
		go func() {
			_, err := s.Read(make([]byte, 8))
			done <- err
		}()
		Consistently(done, 50*time.Millisecond).ShouldNot(Receive())
		Expect(a.Close()).To(Succeed())
		var err error
		Eventually(done).WithTimeout(5 * time.Second).Should(Receive(&err))
		Expect(errors.Is(err, net.ErrClosed)).To(BeTrue(), "%v", err)
	})

	It("should report a write to a peer that reset the connection as the system call's error", func() {
		a, b := tcpPair()
		s := socket.New(a)
		Expect(b.SetLinger(0)).To(Succeed())
		Expect(b.Close()).To(Succeed()) // RST
		var err error
		Eventually(func() error {
			_, err = s.Write([]byte("anyone there?"))
			return err
		}).WithTimeout(5 * time.Second).Should(HaveOccurred())
		Expect(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)).To(BeTrue(), "%v", err)
		var oe *net.OpError
		Expect(errors.As(err, &oe)).To(BeTrue())
		Expect(oe.Op).To(Equal("write"))
	})

	It("should serve reads from two goroutines at once, the second through the connection", func() {
		a, b := tcpPair()
		s := socket.New(a)
		const total = 1 << 20
		var mu sync.Mutex
		got := 0
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				buf := make([]byte, 4096)
				for {
					n, err := s.Read(buf)
					mu.Lock()
					got += n
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
		_, err := b.Write(make([]byte, total))
		Expect(err).NotTo(HaveOccurred())
		Expect(b.Close()).To(Succeed())
		wg.Wait()
		Expect(got).To(Equal(total))
	})
})

var _ = Describe("Peek", func() {
	It("should tell a quiet socket, waiting bytes (left in place) and the end apart", func() {
		a, b := tcpPair()
		readable, end := rawPeek(a)
		Expect(readable || end).To(BeFalse(), "nothing to read yet")

		_, err := b.Write([]byte("x"))
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() bool { r, _ := rawPeek(a); return r }).Should(BeTrue())
		_, end = rawPeek(a)
		Expect(end).To(BeFalse())
		buf := make([]byte, 4)
		n, err := a.Read(buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(buf[:n])).To(Equal("x"), "the peek took nothing")

		Expect(b.Close()).To(Succeed())
		Eventually(func() bool { _, e := rawPeek(a); return e }).Should(BeTrue())
		readable, _ = rawPeek(a)
		Expect(readable).To(BeTrue(), "the end is something to read")
	})
})
