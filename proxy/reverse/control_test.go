package reverse_test

import (
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/reverse"
)

// load sends GETs through rp from a few workers until stop is closed or each
// worker sent max requests, and counts outcomes by status (0 = transport
// error).
type load struct {
	wg     sync.WaitGroup
	stop   chan struct{}
	sent   atomic.Int64
	ok     atomic.Int64
	failed atomic.Int64
}

func startLoad(rp *runningProxy, workers, max int) *load {
	l := &load{stop: make(chan struct{})}
	for range workers {
		l.wg.Go(func() {
			for range max {
				select {
				case <-l.stop:
					return
				default:
				}
				l.sent.Add(1)
				resp, err := rp.client.Get(rp.url + "/?delay=2ms")
				if err != nil {
					l.failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					l.ok.Add(1)
				} else {
					l.failed.Add(1)
				}
			}
		})
	}
	DeferCleanup(l.finish)
	return l
}

func (l *load) finish() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

var _ = Describe("Runtime control", func() {
	var (
		s1, s2, s3 *upstream
		rp         *runningProxy
	)

	BeforeEach(func() {
		s1, s2, s3 = startUpstream("server1"), startUpstream("server2"), startUpstream("server3")
		rp = startProxy(onePool(s1.url, s2.url, s3.url))
	})

	It("should report pools with their servers' state", func() {
		Expect(rp.DrainServer("web", "server2")).To(Succeed())
		Expect(rp.SetWeight("web", "server3", 5)).To(Succeed())
		ps := rp.Pools()
		Expect(ps).To(HaveLen(1))
		Expect(ps[0].Policy).To(Equal("round_robin"))
		Expect(ps[0].Servers).To(HaveLen(3))
		Expect(ps[0].Servers[1].State).To(Equal("draining"))
		Expect(ps[0].Servers[2].Weight).To(Equal(5))
		Expect(rp.DrainServer("web", "nope")).To(MatchError(proxy.ErrNotFound))
		Expect(rp.DrainServer("nope", "server1")).To(MatchError(proxy.ErrNotFound))
		Expect(rp.AddServer("web", reverse.ServerConfig{Name: "server1", URL: s1.url})).To(MatchError(proxy.ErrExists))
		Expect(rp.AddServer("web", reverse.ServerConfig{Name: "x", URL: "ftp://a"})).To(MatchError(ContainSubstring("want http, https or h2c")))
	})

	It("should drain, remove, add and swap under load without losing a request", func(ctx SpecContext) {
		l := startLoad(rp, 4, 400)
		Eventually(s2.receipts.Load).Should(BeNumerically(">", 10))

		Expect(rp.DrainServer("web", "server2")).To(Succeed())
		before := s2.receipts.Load()
		Eventually(func() int64 { return rp.Pools()[0].Servers[1].InFlight }).Should(BeZero())
		Consistently(s2.receipts.Load, 100*time.Millisecond).Should(BeNumerically("<=", before+4))

		Expect(rp.RemoveServer("web", "server3")).To(Succeed())
		s3.stop() // safe: nothing is in flight to it any more

		s4 := startUpstream("server4")
		Expect(rp.AddServer("web", reverse.ServerConfig{Name: "server4", URL: s4.url})).To(Succeed())
		Eventually(s4.receipts.Load).Should(BeNumerically(">", 5))

		next := onePool(s1.url, s4.url)
		next.Pools[0].Servers[1].Name = "server4"
		Expect(rp.Swap(next)).To(Succeed())
		Expect(rp.Pools()[0].Servers).To(HaveLen(2))
		s2.stop()
		mark := s4.receipts.Load()
		Eventually(s4.receipts.Load).Should(BeNumerically(">", mark+5))

		l.finish()
		Expect(l.failed.Load()).To(BeZero())
		Expect(l.ok.Load()).To(Equal(l.sent.Load()))
	}, SpecTimeout(20*time.Second))

	It("should keep the old config when a swap is bad", func() {
		bad := onePool(s1.url)
		bad.Routes[0].Pool = "missing"
		Expect(rp.Swap(bad)).To(MatchError(ContainSubstring(`pool "missing" is not defined`)))
		Expect(rp.Pools()[0].Servers).To(HaveLen(3))
		code, _, _ := rp.get("/")
		Expect(code).To(Equal(200))
	})

	It("should keep the live state of servers that stay across a swap", func() {
		Expect(rp.DrainServer("web", "server1")).To(Succeed())
		Expect(rp.Swap(onePool(s1.url, s2.url))).To(Succeed())
		Expect(rp.Pools()[0].Servers[0].State).To(Equal("draining"))
	})
})

var _ = Describe("Config", func() {
	It("should parse the documented YAML", func() {
		cfg, err := reverse.ParseConfig([]byte(`
listen: 127.0.0.1:8080
routes: [{host: "", path: /, pool: web}]
pools:
  - name: web
    balance: {policy: round_robin, slow_start: 0s}
    servers: [{name: server1, url: "http://127.0.1.1:4000", weight: 1}]
    health: {path: /healthz, interval: 1s, timeout: 500ms, rise: 2, fall: 2}
    outlier: {consecutive: 5, base_ejection: 5s, max_ejected_percent: 50}
    retries: {attempts: 2, per_try_timeout: 0s, backoff: 10ms, budget: 0.2, on: [connect, timeout, 502, 503, 504]}
    breaker: {max_connections: 0, max_pending: 0, max_requests: 0}
timeouts: {dial: 2s, response_header: 10s, idle: 90s, client_header: 10s, client_body: 30s}
limits: {max_header_bytes: 65536, max_body_bytes: 10MiB}
trusted_proxies: [127.0.0.1/32]
via: proxylab
retry_header: true
`))
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.Limits.MaxBodyBytes).To(BeEquivalentTo(10 << 20))
		Expect(cfg.Pools[0].Health.Timeout).To(Equal(500 * time.Millisecond))
		Expect(cfg.Timeouts.ClientBody).To(Equal(30 * time.Second))
	})

	DescribeTable("should reject bad values, naming them",
		func(doc, want string) {
			_, err := reverse.ParseConfig([]byte(doc))
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		// A route must point at a defined pool.
		Entry("unknown pool", "routes: [{pool: nope}]\npools: []", `pool "nope" is not defined`),
		// Schemes other than http, https, h2c are refused.
		Entry("bad scheme", "pools: [{name: w, servers: [{name: a, url: 'ftp://x:1'}]}]", "want http, https or h2c"),
		// Unknown keys are typos; strict decoding catches them.
		Entry("typo", "pols: []", "pols"),
		// Sizes need a known unit.
		Entry("bad size", "limits: {max_body_bytes: 10XB}", "want bytes or a number with"),
		// Retry conditions are a closed set.
		Entry("bad retry condition", "pools: [{name: w, retries: {on: [sometimes]}}]", `retries.on "sometimes"`),
		// The balancer registry names unknown policies.
		Entry("bad policy", "pools: [{name: w, balance: {policy: fastest}}]", `"fastest"`),
	)
})
