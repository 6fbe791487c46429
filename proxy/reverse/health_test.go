package reverse_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/reverse"
)

// syncBuffer is a bytes.Buffer safe for the proxy's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ = Describe("Health and observability", func() {
	var s1, s2 *upstream

	BeforeEach(func() {
		s1, s2 = startUpstream("server1"), startUpstream("server2")
	})

	It("should eject a server that fails its traffic and send the rest to the other", func() {
		cfg := onePool(s1.url, s2.url)
		cfg.Pools[0].Outlier = &reverse.OutlierConfig{Consecutive: 2, BaseEjection: time.Minute}
		rp := startProxy(cfg)
		s1.fail.Store(true)
		for range 4 {
			rp.get("/")
		}
		Expect(s1.receipts.Load()).To(BeEquivalentTo(2))
		Expect(rp.Pools()[0].Servers[0].State).To(Equal("ejected"))
		for range 6 {
			code, body, _ := rp.get("/")
			Expect(code).To(Equal(200))
			Expect(body).To(Equal("server2"))
		}
		Expect(s1.receipts.Load()).To(BeEquivalentTo(2))
	})

	It("should take a server out when its active check fails and back when it passes", func(ctx SpecContext) {
		cfg := onePool(s1.url, s2.url)
		cfg.Pools[0].Health = &reverse.HealthConfig{Path: "/healthz", Interval: 20 * time.Millisecond, Timeout: time.Second, Rise: 1, Fall: 1, Jitter: -1}
		rp := startProxy(cfg)
		s1.unhealthy.Store(true)
		Eventually(func() string { return rp.Pools()[0].Servers[0].State }).WithContext(ctx).Should(Equal("unhealthy"))
		before := s1.receipts.Load()
		for range 4 {
			_, body, _ := rp.get("/")
			Expect(body).To(Equal("server2"))
		}
		Expect(s1.receipts.Load()).To(Equal(before))
		s1.unhealthy.Store(false)
		Eventually(func() string { return rp.Pools()[0].Servers[0].State }).WithContext(ctx).Should(Equal("healthy"))
	}, SpecTimeout(10*time.Second))

	It("should log each request as one JSON line with its retry record", func() {
		var log syncBuffer
		cfg := onePool(deadURL(), s1.url)
		rp := startProxy(cfg, reverse.WithAccessLog(&log))
		rp.get("/a", "X-Proxylab-Id", "cli1-1")
		rp.get("/b", "X-Proxylab-Id", "cli1-2")
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		Expect(lines).To(HaveLen(2))
		var e struct {
			ID       string   `json:"id"`
			Status   int      `json:"status"`
			Attempts int      `json:"attempts"`
			Tried    []string `json:"tried"`
			Upstream string   `json:"upstream"`
			Bytes    int      `json:"bytes"`
		}
		Expect(json.Unmarshal([]byte(lines[0]), &e)).To(Succeed())
		Expect(e.ID).To(Equal("cli1-1"))
		Expect(e.Status).To(Equal(200))
		Expect(e.Attempts).To(Equal(2))
		Expect(e.Tried).To(Equal([]string{"server1", "server2"}))
		Expect(e.Upstream).To(Equal("server2"))
		Expect(e.Bytes).To(Equal(len("server1")))
	})

	It("should count requests, errors and retries per upstream in its metrics", func() {
		rp := startProxy(onePool(deadURL(), s1.url))
		rp.get("/")
		rec := &metricsRecorder{h: http.Header{}}
		req, _ := http.NewRequest("GET", "/metrics", nil)
		rp.MetricsHandler().ServeHTTP(rec, req)
		text := rec.body.String()
		Expect(text).To(ContainSubstring(`proxylab_reverse_retries_total{pool="web",upstream="server1"} 1`))
		Expect(text).To(ContainSubstring(`proxylab_reverse_upstream_errors_total{pool="web",reason="dial",upstream="server1"} 1`))
		Expect(text).To(ContainSubstring(`proxylab_reverse_requests_total{code="200",pool="web",upstream="server2"} 1`))
		Expect(text).To(ContainSubstring(`proxylab_reverse_request_duration_seconds_count{pool="web",upstream="server2"} 1`))
	})
})

type metricsRecorder struct {
	h    http.Header
	body bytes.Buffer
}

func (m *metricsRecorder) Header() http.Header         { return m.h }
func (m *metricsRecorder) Write(b []byte) (int, error) { return m.body.Write(b) }
func (m *metricsRecorder) WriteHeader(int)             {}
