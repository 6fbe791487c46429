package reverse_test

import (
	"net"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/reverse"
)

var _ = Describe("Proxy", func() {
	var s1, s2, s3 *upstream

	BeforeEach(func() {
		s1, s2, s3 = startUpstream("server1"), startUpstream("server2"), startUpstream("server3")
	})

	It("should spread requests round robin exactly", func() {
		rp := startProxy(onePool(s1.url, s2.url, s3.url))
		seen := map[string]int{}
		var order []string
		for range 30 {
			code, body, _ := rp.get("/")
			Expect(code).To(Equal(200))
			seen[body]++
			order = append(order, body)
		}
		Expect(seen).To(Equal(map[string]int{"server1": 10, "server2": 10, "server3": 10}))
		for i := 3; i < len(order); i++ {
			Expect(order[i]).To(Equal(order[i-3]), "the order repeats with period 3")
		}
	})

	When("routes name hosts and paths", func() {
		var rp *runningProxy

		BeforeEach(func() {
			rp = startProxy(reverse.Config{
				Routes: []reverse.RouteConfig{
					{Host: "a.example", Path: "/", Pool: "a"},
					{Host: "a.example", Path: "/api", Pool: "api"},
					{Host: "b.example", Path: "/", Pool: "b"},
				},
				Pools: []reverse.PoolConfig{
					{Name: "a", Servers: []reverse.ServerConfig{{Name: "server1", URL: s1.url}}},
					{Name: "api", Servers: []reverse.ServerConfig{{Name: "server2", URL: s2.url}}},
					{Name: "b", Servers: []reverse.ServerConfig{{Name: "server3", URL: s3.url}}},
				},
			})
		})

		DescribeTable("should pick the pool by host and longest prefix",
			func(host, path string, code int, body string) {
				c, b, _ := rp.get(path, "Host", host)
				Expect(c).To(Equal(code))
				if body != "" {
					Expect(b).To(Equal(body))
				}
			},
			// The plain host route.
			Entry("host a, root", "a.example", "/x", 200, "server1"),
			// The longer /api prefix wins over /.
			Entry("host a, api", "a.example", "/api/v1", 200, "server2"),
			// /apix is not under /api: segment boundaries matter.
			Entry("host a, apix", "a.example", "/apix", 200, "server1"),
			// Hosts match case-insensitively and without the port.
			Entry("host B with port", "B.EXAMPLE:8080", "/", 200, "server3"),
			// An unknown host never reaches a default backend.
			Entry("unknown host", "c.example", "/", 404, ""),
		)
	})

	It("should clean the headers the upstream receives, replacing client X-Forwarded-For", func() {
		rp := startProxy(onePool(s1.url))
		code, _, _ := rp.get("/h",
			"X-Forwarded-For", "6.6.6.6",
			"Forwarded", "for=6.6.6.6",
			"Connection", "X-Secret, Keep-Alive",
			"X-Secret", "1",
			"Keep-Alive", "timeout=5",
			"Proxy-Connection", "keep-alive",
			"Proxy-Authorization", "Basic eDp5",
			"Te", "gzip",
			"Upgrade", "h2c",
			"Http2-Settings", "AAMAAABkAAQAAP__",
		)
		Expect(code).To(Equal(200))
		r, _ := s1.lastRequest()
		h := r.Header
		Expect(h.Get("X-Forwarded-For")).To(Equal("127.0.0.1"))
		Expect(h.Get("Forwarded")).To(HavePrefix("for=127.0.0.1;host="))
		Expect(h.Get("X-Forwarded-Proto")).To(Equal("http"))
		Expect(h.Get("X-Forwarded-Host")).To(Equal(rp.addr))
		Expect(h.Get("Via")).To(Equal("1.1 proxylab"))
		_, _, respHeader := rp.get("/")
		Expect(respHeader.Get("Via")).To(Equal("1.1 proxylab"), "responses carry Via too")
		for _, name := range []string{"X-Secret", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Upgrade", "Http2-Settings"} {
			Expect(h).NotTo(HaveKey(name), name)
		}
		Expect(strings.ToLower(h.Get("Connection"))).NotTo(ContainSubstring("upgrade"))
	})

	It("should add its hop to a client Via, but not to one the client's Connection field lists", func() {
		rp := startProxy(onePool(s1.url))
		code, _, _ := rp.get("/", "Via", "1.0 fred")
		Expect(code).To(Equal(200))
		r, _ := s1.lastRequest()
		Expect(r.Header.Get("Via")).To(Equal("1.0 fred, 1.1 proxylab"))
		code, _, _ = rp.get("/", "Via", "1.0 fred", "Connection", "Via")
		Expect(code).To(Equal(200))
		r, _ = s1.lastRequest()
		Expect(r.Header.Get("Via")).To(Equal("1.1 proxylab"), "a hop-by-hop Via is not passed on")
	})

	It("should append to X-Forwarded-For and Forwarded from a trusted peer", func() {
		cfg := onePool(s1.url)
		cfg.TrustedProxies = []string{"127.0.0.0/8"}
		rp := startProxy(cfg)
		rp.get("/", "X-Forwarded-For", "203.0.113.9", "Forwarded", "for=203.0.113.9", "X-Forwarded-Proto", "https")
		r, _ := s1.lastRequest()
		Expect(r.Header.Get("X-Forwarded-For")).To(Equal("203.0.113.9, 127.0.0.1"))
		Expect(r.Header.Get("Forwarded")).To(HavePrefix("for=203.0.113.9, for=127.0.0.1"))
		Expect(r.Header.Get("X-Forwarded-Proto")).To(Equal("https"))
	})

	It("should keep a client on its server with the sticky cookie policy", func() {
		cfg := onePool(s1.url, s2.url, s3.url)
		cfg.Pools[0].Balance = balance.Config{Policy: "sticky_cookie", Secret: "s"}
		rp := startProxy(cfg)
		_, first, h := rp.get("/")
		cookie := h.Get("Set-Cookie")
		Expect(cookie).To(HavePrefix("proxylab_sticky="))
		cookie, _, _ = strings.Cut(cookie, ";")
		for range 6 {
			code, body, h := rp.get("/", "Cookie", cookie)
			Expect(code).To(Equal(200))
			Expect(body).To(Equal(first))
			Expect(h.Get("Set-Cookie")).To(BeEmpty(), "a client with the right cookie is not told again")
		}
	})

	It("should refuse a request that already went through it (Via loop)", func() {
		rp := startProxy(onePool(s1.url))
		code, _, _ := rp.get("/", "Via", "1.1 proxylab")
		Expect(code).To(Equal(http.StatusLoopDetected))
		Expect(s1.receipts.Load()).To(BeZero())
	})

	It("should answer 413 to a body over the limit before dialing", func() {
		cfg := onePool(s1.url)
		cfg.Limits.MaxBodyBytes = 1024
		rp := startProxy(cfg)
		code, _, _ := rp.do("POST", "/", strings.NewReader(strings.Repeat("x", 4096)))
		Expect(code).To(Equal(http.StatusRequestEntityTooLarge))
		Expect(s1.receipts.Load()).To(BeZero())
	})

	It("should answer 400 to a bad chunked body and not blame the upstream", func() {
		cfg := onePool(s1.url)
		rp := startProxy(cfg)
		c, err := net.Dial("tcp", rp.addr)
		Expect(err).NotTo(HaveOccurred())
		defer c.Close()
		_, err = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"))
		Expect(err).NotTo(HaveOccurred())
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		Expect(string(buf[:n])).To(HavePrefix("HTTP/1.1 400"))
		Expect(s1.receipts.Load()).To(BeZero())
		Expect(rp.Pools()[0].Servers[0].Errors).To(BeZero())
	})
})
