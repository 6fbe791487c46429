package forward_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("Proxy sending direct requests on its own upstream connections", func() {
	var px *running

	BeforeEach(func() {
		px = startProxy(forward.Config{Open: true, AllowNets: loopback, Via: "px-direct",
			Timeouts: forward.Timeouts{ResponseHeader: 5 * time.Second}})
	})

	// exchange sends raw on a new connection to the proxy and returns the
	// final response (1xx skipped) with its body.
	exchange := func(raw string) (*http.Response, string) {
		GinkgoHelper()
		c, err := net.Dial("tcp", px.addr)
		Expect(err).NotTo(HaveOccurred())
		closeLater(c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.WriteString(c, raw)
		Expect(err).NotTo(HaveOccurred())
		br := bufio.NewReader(c)
		for {
			resp, err := http.ReadResponse(br, nil)
			Expect(err).NotTo(HaveOccurred())
			b, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			if resp.StatusCode >= 200 {
				return resp, string(b)
			}
		}
	}

	It("should resend a bodiless GET once when its pooled connection turns out closed", func() {
		var accepted atomic.Int64
		addr := startTCP(func(c net.Conn) {
			// One response per connection, announced as keep-alive, then close.
			accepted.Add(1)
			br := bufio.NewReader(c)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		})
		c := client(px.url())
		for i := range 3 {
			resp, body := get(c, "http://"+addr+"/")
			Expect(resp.StatusCode).To(Equal(http.StatusOK), "request %d", i)
			Expect(body).To(Equal("ok"))
		}
		Expect(accepted.Load()).To(BeNumerically(">=", 3), "every request needed a new upstream connection")
	})

	It("should skip 1xx responses and relay only the final one", func() {
		addr := startTCP(func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nX-Final: yes\r\nContent-Length: 2\r\n\r\nok")
		})
		resp, body := exchange("GET http://" + addr + "/ HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("ok"))
		Expect(resp.Header.Get("X-Final")).To(Equal("yes"))
		Expect(resp.Header.Values("Link")).To(BeEmpty(), "the interim head's fields are not mixed into the final one")
		Expect(resp.Header.Get("Via")).To(Equal("1.1 px-direct"))
	})

	It("should answer 502 with none of the origin's fields to a malformed response head", func() {
		addr := startTCP(func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Leak: yes\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok")
		})
		resp, _ := exchange("GET http://" + addr + "/ HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusBadGateway))
		Expect(resp.Header.Get("X-Leak")).To(BeEmpty())
		Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("px-direct"))
	})

	It("should abandon the upstream request when the client goes away", func(ctx SpecContext) {
		closed := make(chan struct{})
		addr := startTCP(func(c net.Conn) {
			br := bufio.NewReader(c)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := br.ReadByte(); err != nil { // never answers; waits for the proxy to close
				close(closed)
			}
		})
		c, err := net.Dial("tcp", px.addr)
		Expect(err).NotTo(HaveOccurred())
		_, err = io.WriteString(c, "GET http://"+addr+"/hang HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(err).NotTo(HaveOccurred())
		Consistently(closed, 100*time.Millisecond).ShouldNot(BeClosed(), "the proxy waits for the answer")
		Expect(c.Close()).To(Succeed())
		Eventually(closed).WithTimeout(3*time.Second).Should(BeClosed(), "well before the 5s response_header timeout")
	}, SpecTimeout(10*time.Second))

	It("should forward a chunked body with its trailer", func() {
		seen := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			seen <- fmt.Sprintf("%s|%s|%d", b, r.Trailer.Get("X-Sum"), r.ContentLength)
		}))
		DeferCleanup(srv.Close)
		resp, _ := exchange("POST http://" + srv.Listener.Addr().String() + "/up HTTP/1.1\r\nHost: x\r\n" +
			"Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(seen).To(Receive(Equal("hello world|42|-1")))
	})

	It("should still wait for 100 Continue on requests that ask for it", func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Expect", r.Header.Get("Expect"))
			_, _ = w.Write(b)
		}))
		DeferCleanup(srv.Close)
		resp, body := exchange("POST http://" + srv.Listener.Addr().String() + "/up HTTP/1.1\r\nHost: x\r\n" +
			"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("hello"))
		Expect(resp.Header.Get("X-Expect")).To(Equal("100-continue"))
	})

	DescribeTable("should cut the client's connection when the origin dies mid-body",
		func(head, part string) {
			addr := startTCP(func(c net.Conn) {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, head+part) // then the handler returns and the connection closes
			})
			c, err := net.Dial("tcp", px.addr)
			Expect(err).NotTo(HaveOccurred())
			closeLater(c)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = io.WriteString(c, "GET http://"+addr+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
			Expect(err).NotTo(HaveOccurred())
			// The head may still be in the server's buffer when the
			// connection is cut: then the client gets nothing at all.
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				Expect(resp.StatusCode).To(Equal(http.StatusOK))
				_, err = io.ReadAll(resp.Body)
			}
			Expect(err).To(HaveOccurred(), "a short body is never passed on as complete")
			Eventually(px.log.String).Should(ContainSubstring(`"error":"http_response_incomplete"`))
		},
		// A chunked body without its last chunk: relayed chunked, it must not get one from the proxy.
		Entry(nil, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n"),
		// A Content-Length body that stops short.
		Entry(nil, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "only ten b"),
	)

	It("should relay the answer an origin gives before it stops reading an upload", func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusRequestEntityTooLarge) // without reading the body: net/http then closes
		}))
		DeferCleanup(srv.Close)
		body := strings.Repeat("u", 8<<20) // more than loopback's socket buffers take in
		resp, err := client(px.url()).Post("http://"+srv.Listener.Addr().String()+"/up", "text/plain", strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge), "the origin's answer, not a 502")
	})

	It("should relay a response delimited by the origin's close", func() {
		addr := startTCP(func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"+strings.Repeat("z", 3000))
		})
		resp, body := exchange("GET http://" + addr + "/ HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(HaveLen(3000))
	})
})
