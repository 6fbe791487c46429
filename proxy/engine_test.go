package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
)

// serveOwn serves h with the own loop on 127.0.0.1:0 and returns the
// server and its address; DeferCleanup closes it.
func serveOwn(h http.Handler, cfg proxy.ServerConfig, opts ...proxy.ServerOption) (*proxy.Server, string) {
	GinkgoHelper()
	cfg.Engine = proxy.EngineProxylab
	srv := proxy.NewServer(h, cfg, opts...)
	ln, err := proxy.Listen("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	DeferCleanup(func() {
		srv.Close()
		Eventually(done).Should(Receive(BeNil()))
	})
	return srv, ln.Addr().String()
}

// rawConn is a client connection that writes raw bytes and reads
// responses.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(addr string) *rawConn {
	GinkgoHelper()
	c, err := net.Dial("tcp", addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { c.Close() })
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	GinkgoHelper()
	_, err := io.WriteString(c, s)
	Expect(err).NotTo(HaveOccurred())
}

// read reads one response to method and its whole body.
func (c *rawConn) read(method string) (*http.Response, string) {
	GinkgoHelper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	Expect(err).NotTo(HaveOccurred())
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp, string(b)
}

// closed reports whether the server closed the connection within d.
func (c *rawConn) closed(d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.ReadByte()
	return err != nil && !isTimeoutErr(err)
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

var _ = Describe("The proxylab engine", func() {
	var addr string

	When("serving the echo handler", func() {
		BeforeEach(func() {
			_, addr = serveOwn(echoBody, proxy.ServerConfig{})
		})

		It("should keep the connection for the next request", func() {
			c := dialRaw(addr)
			for i := range 3 {
				c.send(fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i))
				resp, b := c.read("GET")
				Expect(resp.StatusCode).To(Equal(http.StatusOK))
				Expect(b).To(Equal(fmt.Sprintf("GET /%d 0", i)))
				Expect(resp.ContentLength).To(BeEquivalentTo(len(b)))
				Expect(resp.Header.Get("Date")).NotTo(BeEmpty())
			}
		})

		It("should answer pipelined requests sent in one write, in order", func() {
			c := dialRaw(addr)
			c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
				"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
				"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n" +
				"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			for _, want := range []string{"GET /a 0", "POST /b 3", "POST /c 2", "GET /d 0"} {
				_, b := c.read("GET")
				Expect(b).To(Equal(want))
			}
			Expect(c.closed(time.Second)).To(BeTrue())
		})

		DescribeTable("should read request bodies of each kind",
			func(raw, want string) {
				c := dialRaw(addr)
				c.send(raw)
				_, b := c.read("POST")
				Expect(b).To(Equal(want))
			},
			// The plain case.
			Entry("Content-Length", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "POST /p 5"),
			// Several chunks, one with an extension, and a trailer section.
			Entry("chunked with an extension and trailers",
				"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n", "POST /p 5"),
			// A zero Content-Length is no body at all.
			Entry("an empty body", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "POST /p 0"),
		)

		It("should answer 400 and close on a bad chunk line", func() {
			c := dialRaw(addr)
			c.send("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;=\r\nabc\r\n0\r\n\r\n")
			resp, _ := c.read("POST")
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			Expect(resp.Header.Get("X-Body-Error")).To(Equal("true"))
			Expect(c.closed(time.Second)).To(BeTrue())
		})

		It("should answer 400 and close on Content-Length with Transfer-Encoding", func() {
			c := dialRaw(addr)
			c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
			resp, _ := c.read("POST")
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			Expect(c.closed(time.Second)).To(BeTrue())
		})

		It("should answer 400 to an HTTP/1.1 request without Host", func() {
			c := dialRaw(addr)
			c.send("GET / HTTP/1.1\r\n\r\n")
			resp, _ := c.read("GET")
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
		})

		It("should read a header block bigger than its read buffer, and the request after it", func() {
			c := dialRaw(addr)
			big := "X-Big: " + strings.Repeat("b", 10<<10) + "\r\n"
			c.send("POST /big HTTP/1.1\r\nHost: x\r\n" + big + "Content-Length: 2\r\n\r\nab" +
				"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
			_, b := c.read("POST")
			Expect(b).To(Equal("POST /big 2"))
			_, b = c.read("GET")
			Expect(b).To(Equal("GET /next 0"))
		})

		It("should refuse obs-fold in a header block bigger than its read buffer", func() {
			c := dialRaw(addr)
			big := "X-Big: " + strings.Repeat("b", 10<<10) + "\r\n"
			c.send("GET / HTTP/1.1\r\nHost: x\r\n" + big + "X-Fold: a\r\n b\r\n\r\n")
			resp, _ := c.read("GET")
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			Expect(c.closed(time.Second)).To(BeTrue())
		})

		It("should keep an HTTP/1.0 keep-alive connection when the length is known", func() {
			c := dialRaw(addr)
			c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			resp, b := c.read("GET")
			Expect(b).To(Equal("GET /a 0"))
			Expect(resp.Header.Get("Connection")).To(Equal("keep-alive"))
			c.send("GET /b HTTP/1.0\r\n\r\n")
			_, b = c.read("GET")
			Expect(b).To(Equal("GET /b 0"))
			Expect(c.closed(time.Second)).To(BeTrue())
		})

		It("should give back its buffers while a keep-alive connection waits", func() {
			srv, a := serveOwn(echoBody, proxy.ServerConfig{})
			c := dialRaw(a)
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			c.read("GET")
			Eventually(func() int64 { return proxy.PoolBalance(srv) }).Should(BeZero())
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			_, b := c.read("GET")
			Expect(b).To(Equal("GET / 0"))
			Eventually(func() int64 { return proxy.PoolBalance(srv) }).Should(BeZero())
		})
	})

	DescribeTable("should keep or close a connection whose handler left the body unread",
		func(size int, kept bool) {
			_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
			}), proxy.ServerConfig{})
			c := dialRaw(addr)
			c.send(fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size))
			go io.WriteString(c, strings.Repeat("x", size)) // the client keeps sending while it reads
			resp, _ := c.read("POST")
			Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
			Expect(resp.Close).To(Equal(!kept))
		},
		// Small enough to drain: the connection serves the next request.
		Entry("a small body is drained", 1000, true),
		// Past the 256 KiB drain bound: closing is cheaper than reading it.
		Entry("a big body closes the connection", 1<<20, false),
	)

	It("should let a handler interrupt its own body read with a past read deadline", func(ctx SpecContext) {
		rerr := make(chan error, 1)
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			read := make(chan error, 1)
			go func() {
				_, err := io.ReadAll(r.Body)
				read <- err
			}()
			// Blocked or not yet started, the read ends: the deadline holds
			// until the handler clears it.
			http.NewResponseController(w).SetReadDeadline(time.Now())
			rerr <- <-read
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
		Eventually(rerr, 5*time.Second).Should(Receive(HaveOccurred()))
	}, SpecTimeout(10*time.Second))

	It("should compute Content-Length for a small body and chunk a big one", func() {
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := 10
			if r.URL.Path == "/big" {
				n = 100 << 10
			}
			io.WriteString(w, strings.Repeat("x", n))
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, b := c.read("GET")
		Expect(resp.ContentLength).To(BeEquivalentTo(10))
		Expect(b).To(HaveLen(10))
		c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, b = c.read("GET")
		Expect(resp.TransferEncoding).To(Equal([]string{"chunked"}))
		Expect(b).To(HaveLen(100 << 10))
	})

	It("should end an HTTP/1.0 response of unknown length with the connection", func() {
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "x")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "y")
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("GET / HTTP/1.0\r\n\r\n")
		resp, b := c.read("GET")
		Expect(resp.ContentLength).To(BeEquivalentTo(-1))
		Expect(b).To(Equal("xy"))
		Expect(c.closed(time.Second)).To(BeTrue())
	})

	It("should answer HEAD without a body", func() {
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, b := c.read("HEAD")
		Expect(resp.ContentLength).To(BeEquivalentTo(5))
		Expect(b).To(BeEmpty())
		_, b = c.read("GET")
		Expect(b).To(Equal("hello"))
	})

	It("should send informational responses before the final one", func() {
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("X-Final", "1")
			w.WriteHeader(http.StatusOK)
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := c.br.ReadString('\n')
		Expect(err).NotTo(HaveOccurred())
		Expect(line).To(Equal("HTTP/1.1 103 Early Hints\r\n"))
		for line != "\r\n" {
			line, err = c.br.ReadString('\n')
			Expect(err).NotTo(HaveOccurred())
		}
		resp, _ := c.read("GET")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("X-Final")).To(Equal("1"))
	})

	It("should send response trailers after a chunked body", func() {
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
			w.Header().Set(http.TrailerPrefix+"X-Late", "7")
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, b := c.read("GET")
		Expect(b).To(Equal("body"))
		Expect(resp.Header.Get("X-Sum")).To(BeEmpty())
		Expect(resp.Trailer.Get("X-Sum")).To(Equal("42"))
		Expect(resp.Trailer.Get("X-Late")).To(Equal("7"))
	})

	It("should ask for the body of Expect: 100-continue when the handler reads it", func() {
		_, addr = serveOwn(echoBody, proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := c.br.ReadString('\n')
		Expect(err).NotTo(HaveOccurred())
		Expect(line).To(Equal("HTTP/1.1 100 Continue\r\n"))
		line, _ = c.br.ReadString('\n')
		Expect(line).To(Equal("\r\n"))
		c.send("abc")
		_, b := c.read("POST")
		Expect(b).To(Equal("POST /p 3"))
	})

	It("should close after refusing Expect: 100-continue without asking for the body", func() {
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
		resp, _ := c.read("POST")
		Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
		Expect(resp.Close).To(BeTrue())
	})

	It("should flush what the handler wrote before it returns", func() {
		release := make(chan struct{})
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "first")
			http.NewResponseController(w).Flush()
			<-release
			io.WriteString(w, "second")
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(c.br, nil)
		Expect(err).NotTo(HaveOccurred())
		buf := make([]byte, 5)
		_, err = io.ReadFull(resp.Body, buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(buf)).To(Equal("first"))
		close(release)
		rest, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(rest)).To(Equal("second"))
	})

	It("should hand over a hijacked connection with the bytes it had buffered", func() {
		srv, a := serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w = proxy.TrackUpgrades(w, r)
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			io.Copy(c, brw)
		}), proxy.ServerConfig{})
		c := dialRaw(a)
		c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly")
		resp, err := http.ReadResponse(c.br, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusSwitchingProtocols))
		Eventually(srv.HijackedCount).Should(Equal(1))
		c.send("late")
		buf := make([]byte, 9)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(c.br, buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(buf)).To(Equal("earlylate"))
		c.Close()
		Eventually(srv.HijackedCount).Should(BeZero())
	})

	It("should cancel the request's context when the client goes away", func() {
		cancelled := make(chan struct{})
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
				close(cancelled)
			case <-time.After(10 * time.Second):
			}
		}), proxy.ServerConfig{})
		c := dialRaw(addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		time.AfterFunc(50*time.Millisecond, func() { c.Close() })
		Eventually(cancelled, 5*time.Second).Should(BeClosed())
	})

	It("should recover a handler's panic, log it and close the connection", func() {
		var mu sync.Mutex
		var logged []string
		_, addr = serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("boom")
		}), proxy.ServerConfig{}, proxy.WithErrorLog(func(s string) {
			mu.Lock()
			logged = append(logged, s)
			mu.Unlock()
		}))
		c := dialRaw(addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(c.closed(5 * time.Second)).To(BeTrue())
		Eventually(func() string {
			mu.Lock()
			defer mu.Unlock()
			return strings.Join(logged, "\n")
		}).Should(ContainSubstring("panic serving"))
	})
})
