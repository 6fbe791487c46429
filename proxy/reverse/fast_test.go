package reverse_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/proxylab/proxylab/proxy/reverse"
)

var _ = Describe("The direct path", func() {
	It("should pass 103 Early Hints on before the final response", func(ctx SpecContext) {
		addr := startHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			fmt.Fprint(w, "final")
		}), nil)
		rp := startProxy(onePool("http://" + addr))
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, fmt.Sprintf("%d %s", code, h.Get("Link")))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", rp.url+"/", nil)
		resp, err := rp.client.Do(req)
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200))
		Expect(string(body)).To(Equal("final"))
		Expect(hints).To(Equal([]string{"103 </style.css>; rel=preload"}))
		Expect(resp.Header.Get("Link")).To(BeEmpty(), "the hint's fields are not repeated on the final response")
	}, SpecTimeout(10*time.Second))

	It("should pass a chunked response's trailers on", func(ctx SpecContext) {
		addr := startHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Checksum")
			w.WriteHeader(200)
			fmt.Fprint(w, "part one,")
			http.NewResponseController(w).Flush()
			fmt.Fprint(w, "part two")
			w.Header().Set("X-Checksum", "abc")
		}), nil)
		rp := startProxy(onePool("http://" + addr))
		req, _ := http.NewRequestWithContext(ctx, "GET", rp.url+"/", nil)
		resp, err := rp.client.Do(req)
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(string(body)).To(Equal("part one,part two"))
		Expect(resp.Trailer.Get("X-Checksum")).To(Equal("abc"))
	}, SpecTimeout(10*time.Second))

	It("should give up on the upstream as soon as the client leaves", func(ctx SpecContext) {
		s1 := startUpstream("server1")
		log := gbytes.NewBuffer()
		rp := startProxy(onePool(s1.url), reverse.WithAccessLog(log))
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(cctx, "GET", rp.url+"/?delay=5s", nil)
		began := time.Now()
		_, err := rp.client.Do(req)
		Expect(err).To(HaveOccurred())
		Eventually(log).Should(gbytes.Say(`"status":499`))
		Expect(time.Since(began)).To(BeNumerically("<", 3*time.Second), "not held until the upstream answers")
		Eventually(func() int64 { return rp.Pools()[0].Servers[0].InFlight }).Should(BeZero())
	}, SpecTimeout(10*time.Second))

	It("should send the upstream the path and query httputil would", func() {
		s1 := startUpstream("server1")
		rp := startProxy(onePool(s1.url))
		code, _, _ := rp.get("/a%2Fb/c?x=1&y=%zz&z=2")
		Expect(code).To(Equal(200))
		r, _ := s1.lastRequest()
		Expect(r.URL.EscapedPath()).To(Equal("/a%2Fb/c"))
		Expect(r.URL.RawQuery).To(Equal("x=1&z=2"), "an unparsable parameter is dropped (golang/go#54663)")
		code, _, _ = rp.get("/plain?keep=1")
		Expect(code).To(Equal(200))
		r, _ = s1.lastRequest()
		Expect(r.RequestURI).To(Equal("/plain?keep=1"))
	})

	DescribeTable("should write the Forwarded element as rewrite does",
		func(host, want string) {
			s1 := startUpstream("server1")
			rp := startProxy(onePool(s1.url))
			code, _, _ := rp.get("/", "Host", host)
			Expect(code).To(Equal(200))
			r, _ := s1.lastRequest()
			Expect(r.Header.Values("Forwarded")).To(Equal([]string{want}))
		},
		// A plain name needs no quotes.
		Entry("token host", "example.test", "for=127.0.0.1;host=example.test;proto=http"),
		// A port's colon is not a token character: the host is quoted.
		Entry("host with port", "example.test:8080", `for=127.0.0.1;host="example.test:8080";proto=http`),
	)

	DescribeTable("should leave the direct path while the pool holds a server it cannot serve, and take it again once that server is gone",
		func(scheme string) {
			if os.Getenv("PROXYLAB_STD_TRANSPORT") != "" {
				Skip("the direct path is off")
			}
			s1 := startUpstream("server1")
			rp := startProxy(onePool(s1.url))
			direct := func() bool {
				GinkgoHelper()
				code, body, _ := rp.get("/")
				Expect(code).To(Equal(200))
				Expect(body).To(Equal("server1"))
				return reverse.TakesDirectPath(rp.Proxy, httptest.NewRequest("GET", "/", nil))
			}
			Expect(direct()).To(BeTrue(), "a pool of plain http servers")

			// The added server is drained at once, so every request still goes to s1.
			other := scheme + strings.TrimPrefix(deadURL(), "http://")
			Expect(rp.AddServer("web", reverse.ServerConfig{Name: "other", URL: other})).To(Succeed())
			Expect(rp.DrainServer("web", "other")).To(Succeed())
			Expect(direct()).To(BeFalse(), "with a %s server in the pool", scheme)

			Expect(rp.RemoveServer("web", "other")).To(Succeed())
			Expect(direct()).To(BeTrue(), "plain http again once that server is gone")
		},
		// h2c needs HTTP/2 framing, which the direct path does not speak.
		Entry("h2c", "h2c://"),
		// TLS upstreams go through http.Transport's TLS client.
		Entry("https", "https://"),
	)

	It("should forward a POST body and its length", func() {
		s1 := startUpstream("server1")
		rp := startProxy(onePool(s1.url))
		code, _, h := rp.do("POST", "/", strings.NewReader("hello upstream"))
		Expect(code).To(Equal(200))
		Expect(h.Get("X-Received-Bytes")).To(Equal("14"))
		r, body := s1.lastRequest()
		Expect(string(body)).To(Equal("hello upstream"))
		Expect(r.ContentLength).To(BeEquivalentTo(14))
	})
})
