package proxy_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
)

// echoBody answers "METHOD PATH LEN" for every request, 400 when the body
// could not be read, and turns CONNECT into a byte echo.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, brw)
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.Header().Set("X-Body-Error", fmt.Sprint(errors.Is(err, proxy.ErrFraming)))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(b))
})

// exchange writes raw on a fresh connection and returns the responses read
// ("STATUS BODY" each) and whether the server closed the connection.
func exchange(addr, raw string) ([]string, bool) {
	GinkgoHelper()
	c, err := net.Dial("tcp", addr)
	Expect(err).NotTo(HaveOccurred())
	defer c.Close()
	_, err = io.WriteString(c, raw)
	Expect(err).NotTo(HaveOccurred())
	br := bufio.NewReader(c)
	var got []string
	for {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			return got, !(errors.As(err, &ne) && ne.Timeout())
		}
		b, _ := io.ReadAll(resp.Body)
		got = append(got, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
}

// Both engines run the framing specs: the check below net/http and the
// judge of the own loop must refuse and pass the same requests.
var _ = func() bool {
	for _, engine := range []string{proxy.EngineProxylab, proxy.EngineNetHTTP} {
		_ = Describe("The framing check ("+engine+")", func() {
			var addr string

			start := func(cfg proxy.ServerConfig) {
				cfg.Engine = engine
				srv := proxy.NewServer(echoBody, cfg)
				ln, err := proxy.Listen("127.0.0.1:0")
				Expect(err).NotTo(HaveOccurred())
				addr = ln.Addr().String()
				done := make(chan error, 1)
				go func() { done <- srv.Serve(ln) }()
				DeferCleanup(func() {
					srv.Close()
					Eventually(done).Should(Receive(BeNil()))
				})
			}

			BeforeEach(func() { start(proxy.ServerConfig{}) })

			const post = "POST /p HTTP/1.1\r\nHost: h\r\n"
			const lookalike = "X: 1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n1"
			DescribeTable("should answer 400 and close, after answering what came before",
				func(raw string) {
					got, closed := exchange(addr, "GET /first HTTP/1.1\r\nHost: h\r\n\r\n"+raw)
					Expect(got).To(HaveLen(2))
					Expect(got[0]).To(Equal("200 GET /first 0"), "a request before the refused one is answered in order")
					Expect(got[1]).To(HavePrefix("400 "))
					Expect(closed).To(BeTrue())
				},
				// CL.TE smuggling: net/http alone drops Content-Length and keeps going.
				Entry("Content-Length with Transfer-Encoding", post+"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
				// The same with the headers the other way round.
				Entry("Transfer-Encoding before Content-Length", post+"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
				// net/http unfolds obs-fold into the value: a folded framing header.
				Entry("obs-fold in Transfer-Encoding", post+"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
				// Any folded line, with a tab.
				Entry("obs-fold in another header", post+"X-A: a\r\n\tb\r\n\r\n"),
				// HTTP/1.0 has no chunked: net/http ignores it and reads the chunks as
				// the next request (RFC 9112 §6.1: faulty framing).
				Entry("chunked in HTTP/1.0", "POST /p HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
			)

			DescribeTable("should pass well-framed requests on one keep-alive connection",
				func(raw string, want ...string) {
					got, closed := exchange(addr, raw)
					Expect(got).To(Equal(want))
					Expect(closed).To(BeFalse())
				},
				// Plain pipelining crosses header blocks in one read.
				Entry("three pipelined GETs", strings.Repeat("GET /g HTTP/1.1\r\nHost: h\r\n\r\n", 3),
					"200 GET /g 0", "200 GET /g 0", "200 GET /g 0"),
				// A Content-Length body that looks like a header block is body.
				Entry("a body that looks like a refused request", post+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(lookalike))+
					lookalike+"GET /after HTTP/1.1\r\nHost: h\r\n\r\n",
					fmt.Sprintf("200 POST /p %d", len(lookalike)), "200 GET /after 0"),
				// Extensions, quoted strings with escapes and ';', and trailers.
				Entry("chunked with extensions and trailers", post+"Transfer-Encoding: chunked\r\n\r\n"+
					"3;a=b;c=\"x\\\";y\"\r\nabc\r\n2;d\r\nde\r\n0\r\nT: 1\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n",
					"200 POST /p 5", "200 GET /after 0"),
				// Bare LF line ends in headers are RFC-legal and net/http reads them.
				Entry("bare LF header lines", "GET /lf HTTP/1.1\nHost: h\n\n", "200 GET /lf 0"),
				// Upgrade: h2c is not an upgrade the proxies carry: still HTTP/1.1.
				Entry("an Upgrade: h2c request", "GET /u HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"+
					"GET /after HTTP/1.1\r\nHost: h\r\n\r\n", "200 GET /u 0", "200 GET /after 0"),
			)

			DescribeTable("should end the body with ErrFraming on a chunk line net/http would let through",
				func(body string) {
					got, _ := exchange(addr, post+"Transfer-Encoding: chunked\r\n\r\n"+body)
					Expect(got).To(HaveLen(1))
					Expect(got[0]).To(HavePrefix("400"))
				},
				// An unclosed quote: a parser that honours quotes reads past the CRLF.
				Entry("unclosed quoted extension", "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
				// An extension without a name.
				Entry("an empty extension", "5;\r\nhello\r\n0\r\n\r\n"),
				// Chunk data longer than its size: the CRLF is not where it should be.
				Entry("data past the chunk size", "2\r\nhello\r\n0\r\n\r\n"),
			)

			It("should leave a CONNECT tunnel's bytes alone, however they look", func() {
				c, err := net.Dial("tcp", addr)
				Expect(err).NotTo(HaveOccurred())
				defer c.Close()
				c.SetDeadline(time.Now().Add(3 * time.Second))
				_, err = io.WriteString(c, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n")
				Expect(err).NotTo(HaveOccurred())
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.StatusCode).To(Equal(http.StatusOK))
				tunnelled := "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
				_, err = io.WriteString(c, tunnelled)
				Expect(err).NotTo(HaveOccurred())
				buf := make([]byte, len(tunnelled))
				_, err = io.ReadFull(br, buf)
				Expect(err).NotTo(HaveOccurred())
				Expect(string(buf)).To(Equal(tunnelled))
			})

			When("LenientFraming is set", func() {
				BeforeEach(func() { start(proxy.ServerConfig{LenientFraming: true}) })

				It("should leave the request to net/http alone", func() {
					got, closed := exchange(addr, post+"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
					Expect(got).To(Equal([]string{"200 POST /p 0"}))
					Expect(closed).To(BeFalse())
				})
			})
		})

		_ = Describe("A refused request whose body trickles in ("+engine+")", func() {
			It("should get its answer and a closed connection by the header deadline, not when the client stops", func(ctx SpecContext) {
				const deadline = 200 * time.Millisecond
				srv := proxy.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "no", http.StatusForbidden) // never reads the body
				}), proxy.ServerConfig{ReadHeaderTimeout: deadline, Engine: engine})
				ln, err := proxy.Listen("127.0.0.1:0")
				Expect(err).NotTo(HaveOccurred())
				done := make(chan error, 1)
				go func() { done <- srv.Serve(ln) }()
				DeferCleanup(func() {
					srv.Close()
					Eventually(done).Should(Receive(BeNil()))
				})
				c, err := net.Dial("tcp", ln.Addr().String())
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(func() { c.Close() })
				_, err = io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
				Expect(err).NotTo(HaveOccurred())
				stop := make(chan struct{})
				trickled := make(chan struct{})
				go func() {
					defer close(trickled)
					t := time.NewTicker(20 * time.Millisecond)
					defer t.Stop()
					for i := 0; i < 250; i++ { // at most 5s
						select {
						case <-stop:
							return
						case <-t.C:
							if _, err := io.WriteString(c, "x"); err != nil {
								return
							}
						}
					}
				}()
				DeferCleanup(func() { close(stop); <-trickled })
				start := time.Now()
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				br := bufio.NewReader(c)
				// The 403 comes first, then the close; the close may arrive as a
				// reset (the client is still writing), which can overtake the 403.
				resp, err := http.ReadResponse(br, nil)
				if err == nil {
					Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
					_, err = io.Copy(io.Discard, resp.Body)
					if err == nil {
						_, err = br.ReadByte()
					}
				}
				var ne net.Error
				Expect(err).To(HaveOccurred())
				Expect(errors.As(err, &ne) && ne.Timeout()).To(BeFalse(), "the connection must be closed, not left open: %v", err)
				Expect(time.Since(start)).To(BeNumerically("<", deadline+time.Second))
			}, SpecTimeout(10*time.Second))
		})
	}
	return true
}()
