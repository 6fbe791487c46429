package proxy_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/http2"

	"github.com/proxylab/proxylab/proxy"
)

var _ = Describe("The proxylab engine's deadlines, handoff and shutdown", func() {
	var addr string

	When("a client is slow", func() {
		It("should close a connection whose response makes no progress for WriteIdleTimeout", func(ctx SpecContext) {
			werr := make(chan error, 1)
			_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				chunk := []byte(strings.Repeat("x", 64<<10))
				for range 1024 { // 64 MiB at most: far beyond the socket buffers
					if _, err := w.Write(chunk); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}), proxy.ServerConfig{WriteIdleTimeout: 200 * time.Millisecond})
			c := dialRaw(addr)
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
			Eventually(werr, 5*time.Second).Should(Receive(HaveOccurred()))
		}, SpecTimeout(10*time.Second))

		It("should keep a slow but moving reader", func(ctx SpecContext) {
			_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, strings.Repeat("x", 2<<20))
			}), proxy.ServerConfig{WriteIdleTimeout: 300 * time.Millisecond})
			c := dialRaw(addr)
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(8 * time.Second))
			resp, err := http.ReadResponse(c.br, nil)
			Expect(err).NotTo(HaveOccurred())
			buf := make([]byte, 256<<10)
			total := 0
			for total < 2<<20 {
				n, err := resp.Body.Read(buf)
				total += n
				if err != nil {
					break
				}
				time.Sleep(20 * time.Millisecond) // a slow reader, moving
			}
			Expect(total).To(Equal(2 << 20))
		}, SpecTimeout(10*time.Second))

		It("should fail a request whose body sends nothing for BodyReadIdleTimeout and close", func(ctx SpecContext) {
			rerr := make(chan error, 1)
			_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				rerr <- err
			}), proxy.ServerConfig{BodyReadIdleTimeout: 200 * time.Millisecond})
			c := dialRaw(addr)
			c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
			Eventually(rerr, 5*time.Second).Should(Receive(HaveOccurred()))
			resp, _ := c.read("POST")
			Expect(resp.Close).To(BeTrue())
			Expect(c.closed(5 * time.Second)).To(BeTrue())
		}, SpecTimeout(10*time.Second))

		It("should keep a body that trickles slower than the idle deadline allows in total", func(ctx SpecContext) {
			_, addr = serveOwn(echoBody, proxy.ServerConfig{BodyReadIdleTimeout: 300 * time.Millisecond})
			c := dialRaw(addr)
			c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
			t := time.NewTicker(100 * time.Millisecond) // 8 bytes over 800ms
			defer t.Stop()
			for range 8 {
				<-t.C
				c.send("x")
			}
			_, b := c.read("POST")
			Expect(b).To(Equal("POST /p 8"))
		}, SpecTimeout(10*time.Second))
	})

	When("a keep-alive connection's next header block is incomplete", func() {
		It("should close it after ReadHeaderTimeout, not IdleTimeout", func(ctx SpecContext) {
			_, addr = serveOwn(echoBody, proxy.ServerConfig{ReadHeaderTimeout: 150 * time.Millisecond, IdleTimeout: time.Minute})
			c := dialRaw(addr)
			c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
			c.read("GET")
			// The wait wakes on these bytes; the block needs another read.
			c.send("GET /2 HTTP/1.1\r\nHost: x\r\n")
			Expect(c.closed(5*time.Second)).To(BeTrue(), "a slowloris keep-alive request held the connection")
		}, SpecTimeout(10*time.Second))
	})

	When("keep-alive requests come back to back", func() {
		It("should still close the connection once it has been idle for IdleTimeout", func(ctx SpecContext) {
			_, addr = serveOwn(echoBody, proxy.ServerConfig{IdleTimeout: 400 * time.Millisecond})
			c := dialRaw(addr)
			for i := range 5 {
				c.send(fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i))
				c.read("GET")
			}
			idleFrom := time.Now()
			Expect(c.closed(5 * time.Second)).To(BeTrue())
			// The idle deadline of an earlier request may stand in, ending an
			// eighth of IdleTimeout early at most.
			Expect(time.Since(idleFrom)).To(BeNumerically(">=", 350*time.Millisecond))
		}, SpecTimeout(10*time.Second))

		It("should not keep an idle deadline the handler took off", func(ctx SpecContext) {
			_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/clear" {
					http.NewResponseController(w).SetReadDeadline(time.Time{})
				}
				io.WriteString(w, "ok")
			}), proxy.ServerConfig{IdleTimeout: 300 * time.Millisecond})
			c := dialRaw(addr)
			c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
			c.read("GET")
			c.send("GET /clear HTTP/1.1\r\nHost: x\r\n\r\n")
			c.read("GET")
			Expect(c.closed(5*time.Second)).To(BeTrue(), "the idle connection kept no deadline")
		}, SpecTimeout(10*time.Second))
	})

	When("a handler runs longer than the request's read deadlines", func() {
		var cancelled chan struct{}

		BeforeEach(func() {
			cancelled = make(chan struct{})
			release := make(chan struct{})
			DeferCleanup(func() { close(release) })
			_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/long" {
					io.WriteString(w, "quick")
					return
				}
				io.ReadAll(r.Body) // the wait for the client starts once the body is read
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-release:
				case <-time.After(time.Second):
					io.WriteString(w, "long")
				}
			}), proxy.ServerConfig{ReadHeaderTimeout: 100 * time.Millisecond, BodyReadIdleTimeout: 100 * time.Millisecond,
				IdleTimeout: time.Minute})
		})

		DescribeTable("should still notice the client going away",
			func(ctx SpecContext, req string) {
				c := dialRaw(addr)
				c.send(req)
				// Past the header (or body) deadline of the request, the
				// client leaves.
				time.AfterFunc(400*time.Millisecond, func() { c.Close() })
				Eventually(cancelled, 5*time.Second).Should(BeClosed())
			},
			Entry("after the header deadline", "GET /long HTTP/1.1\r\nHost: x\r\n\r\n", SpecTimeout(10*time.Second)),
			Entry("after the body's idle deadline", "POST /long HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",
				SpecTimeout(10*time.Second)),
		)

		It("should keep the connection for the next request", func(ctx SpecContext) {
			c := dialRaw(addr)
			c.send("GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
			_, body := c.read("GET")
			Expect(body).To(Equal("long"))
			c.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
			_, body = c.read("GET")
			Expect(body).To(Equal("quick"))
			Expect(cancelled).NotTo(BeClosed())
		}, SpecTimeout(10*time.Second))
	})

	DescribeTable("should write the next response after a handler's own write deadline has passed",
		func(cfg proxy.ServerConfig) {
			dl := time.Now().Add(50 * time.Millisecond)
			_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/fixed" {
					Expect(http.NewResponseController(w).SetWriteDeadline(dl)).To(Succeed())
				}
				io.WriteString(w, strings.Repeat("x", 256<<10))
			}), cfg)
			c := dialRaw(addr)
			c.send("GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n")
			_, body := c.read("GET")
			Expect(body).To(HaveLen(256 << 10))
			time.Sleep(time.Until(dl) + 20*time.Millisecond) // the handler's deadline is now in the past
			c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
			_, body = c.read("GET")
			Expect(body).To(HaveLen(256<<10), "the connection's write deadline follows the new request")
		},
		// writes set only the whole-response deadline (none here)
		Entry("without a write idle deadline", proxy.ServerConfig{WriteIdleTimeout: -1}),
		// writes keep a window in force and set it again only when it would end too soon
		Entry("with a write idle deadline", proxy.ServerConfig{WriteIdleTimeout: 400 * time.Millisecond}),
	)

	It("should hand HTTP/2 prior knowledge to net/http when H2C is on, and keep HTTP/1.1 for itself", func() {
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.Proto)
		}), proxy.ServerConfig{H2C: true})
		tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
		DeferCleanup(tr.CloseIdleConnections)
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://h2c.test/")
		Expect(err).NotTo(HaveOccurred())
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(string(b)).To(Equal("HTTP/2.0"))
		c := dialRaw(addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_, body := c.read("GET")
		Expect(body).To(Equal("HTTP/1.1"))
	})

	It("should refuse an unknown engine", func() {
		srv := proxy.NewServer(echoBody, proxy.ServerConfig{Engine: "fasthttp"})
		ln, err := proxy.Listen("127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Serve(ln)).To(MatchError(ContainSubstring(`engine "fasthttp"`)))
	})

	When("shutting down", func() {
		It("should close a connection that never sent a request", func(ctx SpecContext) {
			srv, a := serveOwn(echoBody, proxy.ServerConfig{})
			silent := dialRaw(a)
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			Expect(srv.Shutdown(sctx)).To(Succeed())
			Expect(silent.closed(5 * time.Second)).To(BeTrue())
		}, SpecTimeout(10*time.Second))

		It("should close idle connections and let the request in flight finish", func(ctx SpecContext) {
			started, release := make(chan struct{}), make(chan struct{})
			srv, a := serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					close(started)
					<-release
				}
				io.WriteString(w, "done")
			}), proxy.ServerConfig{})
			idle := dialRaw(a)
			idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			idle.read("GET")
			busy := dialRaw(a)
			busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
			Eventually(started).Should(BeClosed())

			shut := make(chan error, 1)
			go func() { shut <- srv.Shutdown(context.Background()) }()
			Expect(idle.closed(5 * time.Second)).To(BeTrue())
			Consistently(shut, 100*time.Millisecond).ShouldNot(Receive())
			close(release)
			resp, b := busy.read("GET")
			Expect(b).To(Equal("done"))
			Expect(resp.Close).To(BeTrue())
			Eventually(shut, 5*time.Second).Should(Receive(BeNil()))
		}, SpecTimeout(15*time.Second))
	})
})
