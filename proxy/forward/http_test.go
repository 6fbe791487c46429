package forward_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("Proxy serving absolute-form HTTP", func() {
	var (
		server1, server2 *origin
		px               *running
		c                *http.Client
	)

	BeforeEach(func() {
		server1 = startOrigin("server1")
		server2 = startOrigin("server2")
		px = startProxy(forward.Config{
			Open:      true,
			AllowNets: loopback,
			Via:       "px-test",
		})
		c = client(px.url())
	})

	It("should forward a GET and a POST to the origin", func() {
		resp, body := get(c, "http://"+server1.addr()+"/a")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("server1 GET /a"))

		resp, err := c.Post("http://"+server1.addr()+"/b", "text/plain", strings.NewReader("hello"))
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("X-Seen-Body")).To(Equal("hello"))
	})

	It("should serve several origins over one client connection and reuse upstream connections", func() {
		for range 5 {
			_, body := get(c, "http://"+server1.addr()+"/x")
			Expect(body).To(Equal("server1 GET /x"))
			_, body = get(c, "http://"+server2.addr()+"/y")
			Expect(body).To(Equal("server2 GET /y"))
		}
		Expect(px.accepted.Load()).To(BeEquivalentTo(1), "Go's client pools all plain-http requests through one proxy connection")
		Expect(server1.accepted.Load()).To(BeEquivalentTo(1), "keep-alive upstream")
		Expect(server2.accepted.Load()).To(BeEquivalentTo(1), "keep-alive upstream")
	})

	It("should keep the requested authority as Host and add Via both ways", func() {
		resp, _ := get(c, "http://"+server1.addr()+"/")
		Expect(resp.Header.Get("X-Seen-Host")).To(Equal(server1.addr()))
		Expect(resp.Header.Get("X-Seen-Via")).To(Equal("1.1 px-test"))
		Expect(resp.Header.Get("Via")).To(ContainSubstring("px-test"))
	})

	It("should strip hop-by-hop, Connection-listed and proxy credential headers", func() {
		resp, _ := rawRequest(px.addr, "GET http://"+server1.addr()+"/h HTTP/1.1\r\nHost: "+server1.addr()+
			"\r\nConnection: keep-alive, Foo\r\nFoo: secret\r\nProxy-Connection: keep-alive\r\n"+
			"Proxy-Authorization: Basic dTpw\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("X-Seen-Foo")).To(BeEmpty())
		Expect(resp.Header.Get("X-Seen-Proxy-Connection")).To(BeEmpty())
		Expect(resp.Header.Get("X-Seen-Proxy-Authorization")).To(BeEmpty())
	})

	It("should answer 400 to an origin-form request and never act as a reverse proxy", func() {
		resp, body := rawRequest(px.addr, "GET /secret HTTP/1.1\r\nHost: "+server1.addr()+"\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
		Expect(body).To(ContainSubstring("origin-form"))
		Expect(server1.requests.Load()).To(BeZero())
	})

	It("should answer 508 to a request whose Via already names this proxy", func() {
		resp, _ := rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: "+server1.addr()+
			"\r\nVia: 1.1 other, 1.1 px-test\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusLoopDetected))
		Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("proxy_loop_detected"))
		Expect(server1.requests.Load()).To(BeZero())
	})

	It("should answer OPTIONS with Max-Forwards 0 itself and decrement it otherwise", func() {
		resp, _ := rawRequest(px.addr, "OPTIONS http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("Allow")).To(ContainSubstring("CONNECT"))
		Expect(server1.requests.Load()).To(BeZero())

		resp, _ = rawRequest(px.addr, "OPTIONS http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 3\r\n\r\n")
		Expect(resp.Header.Get("X-Seen-Max-Forwards")).To(Equal("2"))
	})

	It("should echo TRACE with Max-Forwards 0 without credentials", func() {
		resp, body := rawRequest(px.addr, "TRACE http://"+server1.addr()+"/t HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\n"+
			"Proxy-Authorization: Basic dTpw\r\nX-Mark: m\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("Content-Type")).To(Equal("message/http"))
		Expect(body).To(ContainSubstring("X-Mark: m"))
		Expect(body).NotTo(ContainSubstring("Basic"))
	})

	It("should stream a response of unknown length as it arrives", func(ctx SpecContext) {
		release := make(chan struct{})
		streamer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "first|")
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			_, _ = io.WriteString(w, "second")
		}))
		DeferCleanup(streamer.Close)
		DeferCleanup(func() {
			select {
			case <-release:
			default:
				close(release)
			}
		})
		resp, err := c.Get(streamer.URL)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		b := make([]byte, len("first|"))
		_, err = io.ReadFull(resp.Body, b)
		Expect(err).NotTo(HaveOccurred(), "the first part arrived before the origin finished")
		Expect(string(b)).To(Equal("first|"))
		close(release)
		rest, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(rest)).To(Equal("second"))
	}, SpecTimeout(10*time.Second))

	It("should answer 400 to an https absolute-form request", func() {
		resp, _ := rawRequest(px.addr, "GET https://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
	})

	It("should write one JSON decision line per request", func() {
		get(c, "http://"+server1.addr()+"/log")
		Eventually(px.log.String).Should(And(
			ContainSubstring(`"decision":"allowed"`),
			ContainSubstring(`"proto":"http"`),
			ContainSubstring(`"dialed":"`+server1.addr()+`"`),
		))
	})
})
