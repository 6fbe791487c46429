package reverse_test

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/reverse"
)

var _ = Describe("Retries and failures", func() {
	var s1, s2 *upstream

	BeforeEach(func() {
		s1, s2 = startUpstream("server1"), startUpstream("server2")
	})

	It("should retry a refused dial on another server so the client sees 200", func() {
		cfg := onePool(deadURL(), s1.url)
		cfg.RetryHeader = true
		rp := startProxy(cfg)
		retried := 0
		for range 10 {
			code, body, h := rp.get("/")
			Expect(code).To(Equal(200))
			Expect(body).To(Equal("server1"))
			if strings.HasPrefix(h.Get("X-Proxylab-Retries"), "attempts=2; tried=server1,server2") {
				retried++
			}
		}
		Expect(retried).To(Equal(5), "round robin sends every other first try to the dead server")
	})

	It("should retry even a POST when the dial failed, resending its body", func() {
		cfg := onePool(deadURL(), s1.url)
		cfg.Pools[0].Balance = balance.Config{Policy: "first"}
		rp := startProxy(cfg)
		code, _, _ := rp.do("POST", "/", strings.NewReader("payload"))
		Expect(code).To(Equal(200))
		_, body := s1.lastRequest()
		Expect(string(body)).To(Equal("payload"))
	})

	It("should not retry a POST whose upstream failed after it was sent", func() {
		rp := startProxy(onePool(s1.url, s2.url))
		code, _, _ := rp.do("POST", "/?abort=1", strings.NewReader("once"))
		Expect(code).To(Equal(http.StatusBadGateway))
		Expect(s1.receipts.Load() + s2.receipts.Load()).To(BeEquivalentTo(1))
	})

	It("should retry an idempotent GET after a broken connection, on the other server", func() {
		cfg := onePool(s1.url, s2.url)
		cfg.RetryHeader = true
		rp := startProxy(cfg)
		code, _, h := rp.get("/?abort=1")
		Expect(code).To(Equal(http.StatusBadGateway))
		Expect(s1.receipts.Load()).To(BeEquivalentTo(1))
		Expect(s2.receipts.Load()).To(BeEquivalentTo(1))
		Expect(h.Get("X-Proxylab-Retries")).To(Equal("attempts=2; tried=server1,server2"))
	})

	It("should retry a POST with an Idempotency-Key", func() {
		rp := startProxy(onePool(s1.url, s2.url))
		code, _, _ := rp.do("POST", "/?abort=1", strings.NewReader("x"), "Idempotency-Key", "k1")
		Expect(code).To(Equal(http.StatusBadGateway))
		Expect(s1.receipts.Load() + s2.receipts.Load()).To(BeEquivalentTo(2))
	})

	DescribeTable("should map failures to statuses",
		func(mutate func(*reverse.Config, *upstream), path string, want int) {
			cfg := onePool(s1.url)
			mutate(&cfg, s1)
			rp := startProxy(cfg)
			code, _, _ := rp.get(path)
			Expect(code).To(Equal(want))
		},
		// Nothing listens: the dial is refused.
		Entry("dial refused → 502", func(c *reverse.Config, _ *upstream) { c.Pools[0].Servers[0].URL = deadURL() }, "/", 502),
		// The upstream answers 503 itself: passed through after retries.
		Entry("upstream 503 → 503", func(*reverse.Config, *upstream) {}, "/?status=503", 503),
		// No response headers within the per-try timeout.
		Entry("per-try timeout → 504", func(c *reverse.Config, _ *upstream) {
			c.Pools[0].Retries.PerTryTimeout = 50 * time.Millisecond
		}, "/?delay=2s", 504),
		// No response headers within response_header.
		Entry("response header timeout → 504", func(c *reverse.Config, _ *upstream) {
			c.Timeouts.ResponseHeader = 50 * time.Millisecond
		}, "/?delay=2s", 504),
	)

	It("should answer 503 when every server is draining", func() {
		rp := startProxy(onePool(s1.url))
		Expect(rp.DrainServer("web", "server1")).To(Succeed())
		code, _, h := rp.get("/")
		Expect(code).To(Equal(503))
		Expect(h.Get("X-Proxylab-Error")).To(Equal("no_upstream"))
	})

	DescribeTable("should open the breaker at a limit and close it when load falls",
		func(ctx SpecContext, breaker reverse.BreakerConfig) {
			cfg := onePool(s1.url)
			cfg.Pools[0].Breaker = breaker
			rp := startProxy(cfg)
			done := make(chan int, 1)
			go func() {
				defer GinkgoRecover()
				code, _, _ := rp.get("/?delay=300ms")
				done <- code
			}()
			Eventually(func() int64 { return rp.Pools()[0].Servers[0].InFlight }).Should(BeEquivalentTo(1))
			code, _, h := rp.get("/")
			Expect(code).To(Equal(503))
			Expect(h.Get("X-Proxylab-Error")).To(Equal("breaker_open"))
			Eventually(done).WithContext(ctx).Should(Receive(Equal(200)))
			code, _, _ = rp.get("/")
			Expect(code).To(Equal(200))
		},
		// Concurrent requests to one server.
		Entry("max_requests", reverse.BreakerConfig{MaxRequests: 1}, SpecTimeout(10*time.Second)),
		// Open connections to one server, all busy.
		Entry("max_connections", reverse.BreakerConfig{MaxConnections: 1}, SpecTimeout(10*time.Second)),
	)

	// burst sends 10 concurrent GETs and counts their statuses.
	burst := func(rp *runningProxy) map[int]int {
		var wg sync.WaitGroup
		codes := make(chan int, 10)
		for range 10 {
			wg.Go(func() {
				defer GinkgoRecover()
				code, _, _ := rp.get("/")
				codes <- code
			})
		}
		wg.Wait()
		close(codes)
		count := map[int]int{}
		for c := range codes {
			count[c]++
		}
		return count
	}

	It("should stop retrying beyond the retry budget", func(ctx SpecContext) {
		bad := startUpstream("bad")
		bad.fail.Store(true) // 500 to everything
		cfg := onePool(bad.url, s1.url)
		cfg.Pools[0].Balance = balance.Config{Policy: "first"}
		cfg.Pools[0].Retries.On = []string{"500"}
		cfg.Pools[0].Retries.Budget = 0.01 // 1% of 10 live requests: the floor of 3 applies
		cfg.Pools[0].Retries.Backoff = 400 * time.Millisecond
		Expect(burst(startProxy(cfg))).To(Equal(map[int]int{200: 3, 500: 7}))
	}, SpecTimeout(10*time.Second))

	It("should retry refused dials outside the budget, since nothing was sent", func(ctx SpecContext) {
		cfg := onePool(deadURL(), s1.url)
		cfg.Pools[0].Balance = balance.Config{Policy: "first"}
		cfg.Pools[0].Retries.Budget = 0.01
		cfg.Pools[0].Retries.Backoff = 400 * time.Millisecond
		Expect(burst(startProxy(cfg))).To(Equal(map[int]int{200: 10}))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("Pooled upstream connections", func() {
	It("should not fail a POST when the upstream closed the idle connection", func() {
		var closed atomic.Int64
		s1 := startUpstream("server1", func(srv *http.Server) {
			srv.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateClosed {
					closed.Add(1)
				}
			}
		})
		rp := startProxy(onePool(s1.url))
		code, _, _ := rp.do("POST", "/", strings.NewReader("one"))
		Expect(code).To(Equal(200))
		// The upstream closes its idle keep-alive connection, as on its idle timeout.
		Eventually(func() int64 {
			s1.srv.SetKeepAlivesEnabled(false)
			return closed.Load()
		}).Should(BeEquivalentTo(1))
		s1.srv.SetKeepAlivesEnabled(true)
		code, _, _ = rp.do("POST", "/", strings.NewReader("two"))
		Expect(code).To(Equal(200))
		Expect(s1.receipts.Load()).To(BeEquivalentTo(2))
	})
})
