package health_test

import (
	"context"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/goleak"

	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/health"
)

// change is one verdict the checker reported, with the server's streak of
// identical answers at that moment.
type change struct {
	Name    string
	Healthy bool
	Streak  int64
}

var _ = Describe("Active", func() {
	var (
		sim     *simServer
		up      *balance.Upstream
		pool    *targets
		cfg     health.ActiveConfig
		mu      sync.Mutex
		changes []change
	)

	BeforeEach(func() {
		sim = newSimServer()
		up = sim.upstream("server1")
		pool = &targets{}
		pool.set(up)
		cfg = health.ActiveConfig{Interval: 20 * time.Millisecond, Timeout: 100 * time.Millisecond, Rise: 2, Fall: 3}
		mu.Lock()
		changes = nil
		mu.Unlock()
	})

	seen := func() []change {
		mu.Lock()
		defer mu.Unlock()
		return append([]change(nil), changes...)
	}

	start := func(opts ...health.ActiveOption) *health.Active {
		GinkgoHelper()
		opts = append([]health.ActiveOption{health.WithObserver(func(u *balance.Upstream, healthy bool) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, change{u.Name, healthy, sim.streak.Load()})
		})}, opts...)
		a, err := health.NewActive(cfg, pool.get, opts...)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Start(context.Background())).To(Succeed())
		DeferCleanup(a.Stop)
		return a
	}

	It("should mark an upstream down after Fall failed probes and up after Rise good ones", func(ctx SpecContext) {
		start()
		Eventually(ctx, sim.probes.Load).Should(BeNumerically(">=", 2))
		Expect(up.Healthy()).To(BeTrue())

		sim.setStatus(http.StatusServiceUnavailable)
		Eventually(ctx, up.Healthy).Should(BeFalse())
		Expect(seen()).To(HaveLen(1))
		Expect(seen()[0]).To(HaveField("Streak", BeNumerically(">=", 3)), "down only after Fall=3 failures")

		sim.setStatus(http.StatusOK)
		Eventually(ctx, up.Healthy).Should(BeTrue())
		Expect(seen()).To(HaveLen(2))
		Expect(seen()[1]).To(HaveField("Streak", BeNumerically(">=", 2)), "up only after Rise=2 passes")
	}, SpecTimeout(10*time.Second))

	It("should not mark an upstream down for one failed probe", func(ctx SpecContext) {
		a := start()
		Eventually(ctx, sim.probes.Load).Should(BeNumerically(">=", 1))
		sim.failNext.Store(1)
		Eventually(ctx, func() uint64 { return a.Stats().Failures }).Should(BeEquivalentTo(1))
		Consistently(ctx, up.Healthy, 150*time.Millisecond, 10*time.Millisecond).Should(BeTrue())
		Expect(seen()).To(BeEmpty())
	}, SpecTimeout(10*time.Second))

	It("should mark an upstream down after one failed probe when Fall is 1", func(ctx SpecContext) {
		cfg.Fall = 1
		start()
		Eventually(ctx, sim.probes.Load).Should(BeNumerically(">=", 1))
		sim.failNext.Store(1)
		Eventually(ctx, seen).Should(ContainElement(HaveField("Healthy", false)))
	}, SpecTimeout(10*time.Second))

	It("should count a probe that times out as a failure", func(ctx SpecContext) {
		cfg.Timeout = 30 * time.Millisecond
		a := start()
		sim.slow.Store(true)
		Eventually(ctx, up.Healthy).Should(BeFalse())
		Expect(a.Stats().Failures).To(BeNumerically(">=", 3))
		sim.slow.Store(false)
		Eventually(ctx, up.Healthy).Should(BeTrue())
	}, SpecTimeout(10*time.Second))

	It("should expect the configured status", func(ctx SpecContext) {
		cfg.Expect = http.StatusNoContent
		start()
		Eventually(ctx, up.Healthy).Should(BeFalse(), "200 is not the expected 204")
		sim.setStatus(http.StatusNoContent)
		Eventually(ctx, up.Healthy).Should(BeTrue())
	}, SpecTimeout(10*time.Second))

	It("should probe the configured path with the configured Host", func(ctx SpecContext) {
		cfg.Path = "/status?full=1"
		cfg.Host = "api.internal"
		start()
		Eventually(ctx, func() []string { p, h := sim.last(); return []string{p, h} }).
			Should(Equal([]string{"/status?full=1", "api.internal"}))
	}, SpecTimeout(10*time.Second))

	When("the pool changes", func() {
		It("should probe an added upstream, which starts healthy and keeps its verdict", func(ctx SpecContext) {
			start()
			other := newSimServer()
			other.setStatus(http.StatusInternalServerError)
			added := other.upstream("server2")
			Expect(added.Healthy()).To(BeTrue(), "NewUpstream starts healthy")
			pool.set(up, added)
			Eventually(ctx, added.Healthy).Should(BeFalse())
			Expect(up.Healthy()).To(BeTrue())
		}, SpecTimeout(10*time.Second))

		It("should bring up an added upstream marked down after Rise probes", func(ctx SpecContext) {
			start()
			other := newSimServer()
			added := other.upstream("server2")
			added.SetHealthy(false)
			pool.set(up, added)
			Eventually(ctx, added.Healthy).Should(BeTrue())
			Expect(other.probes.Load()).To(BeNumerically(">=", 2))
		}, SpecTimeout(10*time.Second))

		It("should stop probing a removed upstream", func(ctx SpecContext) {
			start()
			Eventually(ctx, sim.probes.Load).Should(BeNumerically(">=", 2))
			pool.set()
			// Let an in-flight probe and the next reconcile pass, then no more.
			var settled int64
			Eventually(ctx, func() bool {
				n := sim.probes.Load()
				defer func() { settled = n }()
				return n == settled
			}).WithPolling(60 * time.Millisecond).Should(BeTrue())
			Consistently(ctx, sim.probes.Load, 150*time.Millisecond, 10*time.Millisecond).Should(Equal(settled))
		}, SpecTimeout(10*time.Second))
	})

	It("should use an injected client", func(ctx SpecContext) {
		rt := &countingTransport{next: http.DefaultTransport}
		start(health.WithClient(&http.Client{Transport: rt}))
		Eventually(ctx, rt.count).Should(BeNumerically(">=", 2))
	}, SpecTimeout(10*time.Second))

	It("should leave no goroutine behind after Stop and allow Stop twice", func(ctx SpecContext) {
		opt := goleak.IgnoreCurrent()
		a, err := health.NewActive(cfg, pool.get)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Start(ctx)).To(Succeed())
		Eventually(ctx, sim.probes.Load).Should(BeNumerically(">=", 2))
		a.Stop()
		a.Stop()
		Eventually(ctx, func() error { return goleak.Find(opt) }).Should(Succeed())
		Expect(a.Start(ctx)).To(MatchError(health.ErrStarted))
	}, SpecTimeout(10*time.Second))

	It("should refuse a second Start", func() {
		a := start()
		Expect(a.Start(context.Background())).To(MatchError(health.ErrStarted))
	})

	It("should allow Stop without Start", func() {
		a, err := health.NewActive(cfg, pool.get)
		Expect(err).NotTo(HaveOccurred())
		a.Stop()
	})

	It("should apply the documented defaults", func() {
		a, err := health.NewActive(health.ActiveConfig{}, pool.get)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Config()).To(Equal(health.ActiveConfig{
			Path: "/healthz", Interval: time.Second, Jitter: 100 * time.Millisecond,
			Timeout: time.Second, Rise: 2, Fall: 3,
		}))
	})

	DescribeTable("should reject bad settings with the value and the expected form",
		func(cfg health.ActiveConfig, want ...string) {
			_, err := health.NewActive(cfg, pool.get)
			Expect(err).To(HaveOccurred())
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		// a relative path would be resolved against each upstream's own path
		Entry("relative path", health.ActiveConfig{Path: "healthz"}, `path "healthz": want an absolute path`),
		// a jitter as long as the interval could probe twice at once
		Entry("jitter not below interval", health.ActiveConfig{Interval: time.Second, Jitter: time.Second}, "jitter 1s"),
		// a status outside HTTP's range can never match
		Entry("impossible status", health.ActiveConfig{Expect: 42}, "expect 42"),
		// negative thresholds have no meaning
		Entry("negative fall", health.ActiveConfig{Fall: -1}, "fall -1"),
		// every problem at once, not just the first
		Entry("several problems", health.ActiveConfig{Rise: -2, Timeout: -1}, "timeout -1ns", "rise -2"),
	)
})

// countingTransport counts the probes that go through it.
type countingTransport struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
