package upstream_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/upstream"
)

// scriptUpstream runs serve on each connection it accepts on loopback.
func scriptUpstream(serve func(c net.Conn, br *bufio.Reader)) string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
			})
		}
	})
	DeferCleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// readRequestHead consumes one request head without a body.
func readRequestHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

// answer reads each request head and writes resp, until the client leaves.
func answer(resp string) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, br *bufio.Reader) {
		for readRequestHead(br) == nil {
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	}
}

// informs records the 1xx responses passed on, with their Link fields.
type informs struct {
	h     http.Header
	codes []int
	links []string
}

func (i *informs) WriteHeader(code int) {
	i.codes = append(i.codes, code)
	i.links = append(i.links, i.h.Get("Link"))
}

var _ = Describe("Exchange", func() {
	var (
		c    *upstream.Client
		ctx  context.Context
		x    upstream.Exchange
		rh   upstream.ResponseHead
		h    http.Header
		head upstream.RequestHead
	)

	BeforeEach(func() {
		c = upstream.New(upstream.Config{})
		DeferCleanup(c.Close)
		ctx = context.Background()
		x = upstream.Exchange{}
		rh = upstream.ResponseHead{}
		h = http.Header{}
		head = upstream.RequestHead{Method: "GET", Target: "/", Host: "h"}
	})

	// send runs one exchange on a connection from c's pool (or a new one)
	// and reads its body whole, which pools the connection.
	send := func(addr string, opt upstream.AwaitOptions) error {
		pc, err := c.Get(ctx, addr, false)
		if err != nil {
			return err
		}
		x.Begin(ctx, c, pc, head.Method)
		if err := x.Send(&head, nil); err != nil {
			return err
		}
		if err := x.Await(&rh, h, opt); err != nil {
			return err
		}
		var b upstream.Body
		b.Reset(c, x.Conn(), &rh)
		_, err = b.WriteTo(io.Discard)
		x.Unhook()
		b.Close()
		return err
	}

	// leaveDuringWait sends a request addr does not answer, lets the wait
	// pass FirstByteWait (so the cancellation hook is armed), then cancels
	// the client's context: the wait must end at once with its error.
	leaveDuringWait := func(addr string) {
		GinkgoHelper()
		cctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		ctx = cctx
		done := make(chan error, 1)
		go func() { done <- send(addr, upstream.AwaitOptions{}) }()
		Consistently(done, "100ms").ShouldNot(Receive())
		cancel()
		Eventually(done).Should(Receive(MatchError(context.Canceled)))
	}

	It("should report a pooled connection the upstream closed as stale, and allow one resend", func() {
		// One answer per connection, then a close without Connection: close:
		// the pooled connection is dead when the next request takes it.
		addr := scriptUpstream(func(c net.Conn, br *bufio.Reader) {
			if readRequestHead(br) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		})
		Expect(send(addr, upstream.AwaitOptions{})).To(Succeed())
		err := send(addr, upstream.AwaitOptions{})
		Expect(err).To(MatchError(upstream.ErrStaleConn))
		Expect(upstream.MayResend(err, true)).To(BeTrue())
		Expect(send(addr, upstream.AwaitOptions{})).To(Succeed(), "a new connection")
	})

	It("should read a body that comes after the first-byte wait", func() {
		addr := scriptUpstream(func(c net.Conn, br *bufio.Reader) {
			for readRequestHead(br) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
				time.Sleep(3 * upstream.FirstByteWait)
				io.WriteString(c, "late")
			}
		})
		pc, err := c.Get(ctx, addr, false)
		Expect(err).NotTo(HaveOccurred())
		x.Begin(ctx, c, pc, "GET")
		Expect(x.Send(&head, nil)).To(Succeed())
		Expect(x.Await(&rh, h, upstream.AwaitOptions{})).To(Succeed())
		var b upstream.Body
		b.Reset(c, x.Conn(), &rh)
		got, err := io.ReadAll(&b)
		Expect(err).NotTo(HaveOccurred(), "the first-byte deadline is not the body's")
		Expect(string(got)).To(Equal("late"))
	})

	It("should find a pooled connection alive once the first-byte deadline has lapsed", func() {
		addr := scriptUpstream(answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		Expect(send(addr, upstream.AwaitOptions{})).To(Succeed())
		time.Sleep(2 * upstream.FirstByteWait) // let the deadline Await set lapse on the idle connection
		pc, err := c.Get(ctx, addr, true)      // with the liveness probe
		Expect(err).NotTo(HaveOccurred())
		Expect(pc.Reused()).To(BeTrue(), "the probe must not take a lapsed deadline for a dead connection")
		x.Begin(ctx, c, pc, "GET")
		Expect(x.Send(&head, nil)).To(Succeed())
		Expect(x.Await(&rh, h, upstream.AwaitOptions{})).To(Succeed())
		pc.Close()
	})

	It("should not call a new connection's failure stale", func() {
		addr := scriptUpstream(func(c net.Conn, br *bufio.Reader) { readRequestHead(br) })
		err := send(addr, upstream.AwaitOptions{})
		Expect(err).To(HaveOccurred())
		Expect(errors.Is(err, upstream.ErrStaleConn)).To(BeFalse())
		Expect(upstream.MayResend(err, true)).To(BeFalse())
	})

	DescribeTable("should read the final head after informational ones",
		func(resp string, passed []int) {
			addr := scriptUpstream(answer(resp + "HTTP/1.1 200 OK\r\nX-Final: 1\r\nContent-Length: 2\r\n\r\nok"))
			in := &informs{h: h}
			Expect(send(addr, upstream.AwaitOptions{Informational: in})).To(Succeed())
			Expect(rh.StatusCode).To(Equal(http.StatusOK))
			Expect(h).To(Equal(http.Header{"X-Final": {"1"}, "Content-Length": {"2"}}), "no 1xx field is left")
			Expect(in.codes).To(Equal(passed))
			Expect(x.Informed()).To(Equal(len(passed) > 0))
		},
		// Early Hints go to the client with their fields.
		Entry("103 passed on", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", []int{103}),
		// 100 Continue answers an Expect that is never sent this way.
		Entry("100 dropped", "HTTP/1.1 100 Continue\r\n\r\n", nil),
		// Both in one exchange, in order.
		Entry("100 then 103", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>\r\n\r\n", []int{103}),
	)

	It("should pass a 103 with its own fields", func() {
		addr := scriptUpstream(answer("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
		in := &informs{h: h}
		Expect(send(addr, upstream.AwaitOptions{Informational: in})).To(Succeed())
		Expect(in.links).To(Equal([]string{"</a.css>; rel=preload"}))
	})

	It("should skip informational heads without an Informer", func() {
		addr := scriptUpstream(answer("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
		Expect(send(addr, upstream.AwaitOptions{})).To(Succeed())
		Expect(rh.StatusCode).To(Equal(http.StatusNoContent))
		Expect(x.Informed()).To(BeFalse())
	})

	It("should refuse a 101 to a request without Upgrade", func() {
		addr := scriptUpstream(answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"))
		err := send(addr, upstream.AwaitOptions{})
		Expect(err).To(MatchError(ContainSubstring("switched protocols")))
		Expect(h).To(BeEmpty())
	})

	It("should arm the hook on a pooled connection that kept the last exchange's deadline", func() {
		addr := scriptUpstream(func(c net.Conn, br *bufio.Reader) {
			if readRequestHead(br) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
			readRequestHead(br)
			io.Copy(io.Discard, br) // the second request gets no answer
		})
		Expect(send(addr, upstream.AwaitOptions{})).To(Succeed())
		leaveDuringWait(addr)
	})

	When("the upstream does not answer", func() {
		var addr string

		BeforeEach(func() {
			addr = scriptUpstream(func(c net.Conn, br *bufio.Reader) {
				readRequestHead(br)
				io.Copy(io.Discard, br) // until the client closes
			})
		})

		It("should unblock the wait as soon as the client leaves", func() {
			leaveDuringWait(addr)
		})

		It("should give up after Timeout", func() {
			done := make(chan error, 1)
			go func() { done <- send(addr, upstream.AwaitOptions{Timeout: 50 * time.Millisecond}) }()
			var err error
			Eventually(done).Should(Receive(&err))
			Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "%v", err)
			Expect(errors.Is(err, upstream.ErrStaleConn)).To(BeFalse())
		})
	})
})
