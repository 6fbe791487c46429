package health_test

import (
	"fmt"
	"net/url"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/health"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// members returns n upstreams; their URLs are never dialed.
func members(n int) []*balance.Upstream {
	us := make([]*balance.Upstream, n)
	for i := range us {
		us[i] = balance.NewUpstream(fmt.Sprintf("server%d", i+1), &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.1.%d:80", i+1)}, 1)
	}
	return us
}

var _ = Describe("Outlier", func() {
	const base = 10 * time.Second
	var (
		clock  *fakeClock
		us     []*balance.Upstream
		cfg    health.OutlierConfig
		events []string
	)

	BeforeEach(func() {
		clock = &fakeClock{t: time.Now()}
		us = members(4)
		cfg = health.OutlierConfig{Consecutive: 5, BaseEjection: base, MaxEjection: 25 * time.Second}
		events = nil
	})

	detector := func() *health.Outlier {
		GinkgoHelper()
		o, err := health.NewOutlier(cfg, func() []*balance.Upstream { return us }, health.WithClock(clock.Now),
			health.WithEjectionObserver(func(u *balance.Upstream, ejected bool) {
				events = append(events, fmt.Sprintf("%s ejected=%v", u.Name, ejected))
			}))
		Expect(err).NotTo(HaveOccurred())
		return o
	}

	fail := func(o *health.Outlier, u *balance.Upstream, n int) {
		for range n {
			o.Observe(u, false)
		}
	}

	// ejectedFor reports how long u stays ejected from now, to the second.
	ejectedFor := func(u *balance.Upstream) time.Duration {
		now := clock.Now()
		for d := time.Duration(0); d <= time.Minute; d += time.Second {
			if !u.Ejected(now.Add(d)) {
				return d
			}
		}
		return time.Minute
	}

	It("should eject after Consecutive failures in a row and not before", func() {
		o := detector()
		fail(o, us[0], 4)
		Expect(us[0].Ejected(clock.Now())).To(BeFalse())
		o.Observe(us[0], false)
		Expect(us[0].Ejected(clock.Now())).To(BeTrue())
		Expect(ejectedFor(us[0])).To(Equal(base))
		Expect(o.Counts()).To(Equal(health.EjectionCounts{Ejections: 1, Ejected: 1}))
		Expect(events).To(Equal([]string{"server1 ejected=true"}))
	})

	It("should restart the count after a success", func() {
		o := detector()
		for range 10 {
			fail(o, us[0], 4)
			o.Observe(us[0], true)
		}
		Expect(o.Ejections()).To(BeZero())
	})

	It("should return an upstream to rotation when its time is up", func() {
		o := detector()
		fail(o, us[0], 5)
		clock.Advance(base)
		Expect(us[0].Ejected(clock.Now())).To(BeFalse(), "available exactly at the end")
		Expect(o.Counts()).To(Equal(health.EjectionCounts{Ejections: 1, Unejections: 1}))
		Expect(events).To(Equal([]string{"server1 ejected=true", "server1 ejected=false"}))
		Expect(us[0].UpSince()).To(BeTemporally("~", time.Now(), time.Second), "slow start restarts")
	})

	It("should eject for longer each time, up to MaxEjection", func() {
		o := detector()
		var lengths []time.Duration
		for range 4 {
			fail(o, us[0], 5)
			lengths = append(lengths, ejectedFor(us[0]))
			clock.Advance(lengths[len(lengths)-1])
			o.Observe(us[0], true) // sweeps it back
		}
		Expect(lengths).To(Equal([]time.Duration{base, 2 * base, 25 * time.Second, 25 * time.Second}))
	})

	It("should start from BaseEjection again after MaxEjection in rotation", func() {
		o := detector()
		fail(o, us[0], 5)
		clock.Advance(base)
		o.Observe(us[0], true)
		clock.Advance(cfg.MaxEjection)
		fail(o, us[0], 5)
		Expect(ejectedFor(us[0])).To(Equal(base))
	})

	It("should ignore outcomes reported while an upstream is ejected", func() {
		o := detector()
		fail(o, us[0], 5)
		fail(o, us[0], 20)
		Expect(o.Ejections()).To(BeEquivalentTo(1))
	})

	DescribeTable("should never eject more than MaxEjectedPercent of the pool",
		func(size, percent, wantEjected int) {
			us = members(size)
			cfg.MaxEjectedPercent = percent
			o := detector()
			limit := percent
			if limit == 0 {
				limit = health.DefaultMaxEjectedPercent
			}
			for _, u := range us {
				fail(o, u, 5)
				ejected := 0
				for _, p := range us {
					if p.Ejected(clock.Now()) {
						ejected++
					}
				}
				Expect(ejected * 100).To(BeNumerically("<=", limit*size))
			}
			c := o.Counts()
			Expect(c.Ejected).To(Equal(wantEjected))
			Expect(c.Skipped).To(BeEquivalentTo(size - wantEjected))
		},
		// the default cap: half of ten
		Entry("default 50% of 10", 10, 0, 5),
		// rounding down: 50% of 3 is 1
		Entry("50% of 3 rounds down", 3, 50, 1),
		// 100% still keeps the last available server
		Entry("100% of 4 keeps one", 4, 100, 3),
		// a single server is never ejected: better a bad server than none
		Entry("a pool of one", 1, 100, 0),
		// a low cap can forbid any ejection in a small pool
		Entry("10% of 4 is none", 4, 10, 0),
	)

	It("should keep a skipped upstream in rotation and eject it once the cap allows", func() {
		us = members(2)
		o := detector()
		fail(o, us[0], 5)
		fail(o, us[1], 5)
		Expect(us[1].Available(clock.Now())).To(BeTrue())
		Expect(o.Counts().Skipped).To(BeEquivalentTo(1))
		clock.Advance(base)
		o.Observe(us[0], true)
		fail(o, us[1], 5)
		Expect(us[1].Ejected(clock.Now())).To(BeTrue())
	})

	When("an error rate is set", func() {
		BeforeEach(func() {
			cfg = health.OutlierConfig{Consecutive: -1, ErrorRate: 0.5, MinRequests: 10, Window: time.Second, BaseEjection: base}
		})

		It("should eject once the window holds MinRequests at that rate", func() {
			o := detector()
			for i := range 9 {
				o.Observe(us[0], i%2 == 0)
			}
			Expect(o.Ejections()).To(BeZero(), "9 outcomes are below MinRequests")
			o.Observe(us[0], false)
			Expect(o.Ejections()).To(BeEquivalentTo(1))
		})

		It("should not add up failures from different windows", func() {
			o := detector()
			for range 5 {
				for i := range 8 {
					o.Observe(us[0], i%2 == 0)
				}
				clock.Advance(time.Second)
			}
			Expect(o.Ejections()).To(BeZero())
		})

		It("should not eject below the rate", func() {
			o := detector()
			for i := range 100 {
				o.Observe(us[0], i%3 != 0)
			}
			Expect(o.Ejections()).To(BeZero())
		})
	})

	It("should be safe for concurrent use", func() {
		o, err := health.NewOutlier(cfg, func() []*balance.Upstream { return us })
		Expect(err).NotTo(HaveOccurred())
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				defer GinkgoRecover()
				for i := range 500 {
					o.Observe(us[(g+i)%len(us)], i%7 == 0)
				}
			})
		}
		wg.Wait()
		Expect(o.Counts().Ejected).To(BeNumerically("<=", len(us)/2))
	})

	It("should apply the documented defaults", func() {
		o, err := health.NewOutlier(health.OutlierConfig{}, func() []*balance.Upstream { return us })
		Expect(err).NotTo(HaveOccurred())
		Expect(o.Config()).To(Equal(health.OutlierConfig{
			Consecutive: 5, MinRequests: 20, Window: 10 * time.Second,
			BaseEjection: 30 * time.Second, MaxEjection: 5 * time.Minute, MaxEjectedPercent: 50,
		}))
	})

	DescribeTable("should reject bad settings with the value and the expected form",
		func(cfg health.OutlierConfig, want ...string) {
			_, err := health.NewOutlier(cfg, func() []*balance.Upstream { return us })
			Expect(err).To(HaveOccurred())
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		// a rate is a share of requests
		Entry("error rate above 1", health.OutlierConfig{ErrorRate: 50}, "error rate 50"),
		// the cap is a percentage
		Entry("percent above 100", health.OutlierConfig{MaxEjectedPercent: 150}, "max ejected percent 150"),
		// the cap cannot be shorter than the first ejection
		Entry("max below base", health.OutlierConfig{BaseEjection: time.Minute, MaxEjection: time.Second}, "max ejection 1s"),
		// every problem at once
		Entry("several problems", health.OutlierConfig{Window: -1, MinRequests: -3}, "window -1ns", "min requests -3"),
	)
})
