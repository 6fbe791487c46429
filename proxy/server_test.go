package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
)

var _ = Describe("Server", func() {
	var (
		srv  *proxy.Server
		addr string
		done chan error
	)

	start := func(h http.Handler, cfg proxy.ServerConfig) {
		srv = proxy.NewServer(h, cfg)
		ln, err := proxy.Listen("127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr = ln.Addr().String()
		done = make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		DeferCleanup(func() {
			srv.Close()
			Eventually(done).Should(Receive(BeNil()))
		})
	}

	It("should apply safe defaults", func() {
		cfg := proxy.ServerConfig{}.WithDefaults()
		Expect(cfg.ReadHeaderTimeout).To(Equal(10 * time.Second))
		Expect(cfg.IdleTimeout).To(Equal(90 * time.Second))
		Expect(cfg.MaxHeaderBytes).To(Equal(64 << 10))
	})

	It("should answer 431 to headers over MaxHeaderBytes", func() {
		start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), proxy.ServerConfig{MaxHeaderBytes: 1024})
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 8<<10))
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusRequestHeaderFieldsTooLarge))
	})

	When("a handler hijacked a connection", func() {
		var hijacked chan struct{}

		BeforeEach(func() {
			hijacked = make(chan struct{})
			start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w = proxy.TrackUpgrades(w, r)
				c, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				defer c.Close()
				brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
				brw.Flush()
				close(hijacked)
				io.Copy(io.Discard, c) // a tunnel that never ends on its own
			}), proxy.ServerConfig{})
		})

		It("should track it and close it by the shutdown deadline", func(ctx SpecContext) {
			c, err := net.Dial("tcp", addr)
			Expect(err).NotTo(HaveOccurred())
			defer c.Close()
			c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n"))
			Eventually(hijacked).Should(BeClosed())
			Eventually(srv.HijackedCount).Should(Equal(1))

			sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			began := time.Now()
			Expect(srv.Shutdown(sctx)).To(MatchError(context.DeadlineExceeded))
			Expect(time.Since(began)).To(BeNumerically("<", 2*time.Second))

			// The client sees its tunnel closed.
			br := bufio.NewReader(c)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadAll(br)
			Expect(err).NotTo(HaveOccurred())
			Eventually(srv.HijackedCount).Should(BeZero())
		}, SpecTimeout(10*time.Second))
	})
})

var _ = Describe("AccessLog", func() {
	It("should write one JSON object per line", func() {
		var buf bytes.Buffer
		l := proxy.NewAccessLog(&buf)
		l.Log(&proxy.AccessEntry{Method: "GET", Target: "/a", Status: 200, Attempts: 2, Tried: []string{"s1", "s2"}, Duration: 1500 * time.Microsecond})
		l.Log(&proxy.AccessEntry{Method: "POST", Target: "/b", Status: 502, Error: "dial"})
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		Expect(lines).To(HaveLen(2))
		var e map[string]any
		Expect(json.Unmarshal([]byte(lines[0]), &e)).To(Succeed())
		Expect(e).To(HaveKeyWithValue("tried", ConsistOf("s1", "s2")))
		Expect(e).To(HaveKeyWithValue("duration_ms", 1.5))
	})

	It("should be off when nil", func() {
		var l *proxy.AccessLog = proxy.NewAccessLog(nil)
		Expect(l.Enabled()).To(BeFalse())
		l.Log(&proxy.AccessEntry{}) // must not panic
	})
})

var _ = Describe("Metrics", func() {
	It("should serve its own registry, not the global one", func() {
		m := proxy.NewMetrics("t")
		m.Requests.WithLabelValues("web", "s1", "200").Inc()
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequest("GET", "/metrics", nil)
		m.Handler().ServeHTTP(rec, req)
		Expect(rec.body.String()).To(ContainSubstring(`t_requests_total{code="200",pool="web",upstream="s1"} 1`))
		Expect(proxy.NewMetrics("t")).NotTo(BeNil()) // a second proxy registers without conflict
	})
})

type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }
