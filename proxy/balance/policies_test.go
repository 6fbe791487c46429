package balance_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
)

var _ = Describe("round_robin", func() {
	DescribeTable("should give each of N servers exactly k of N×k picks",
		func(n, k int) {
			b := mustNew(balance.Config{Policy: "round_robin"})
			counts := tally(b, pool(n), n*k)
			Expect(counts).To(HaveLen(n))
			for name, c := range counts {
				Expect(c).To(Equal(k), name)
			}
		},
		// the smallest pool that can be unfair
		Entry("two servers", 2, 50),
		// the usual demo topology
		Entry("three servers", 3, 100),
		// a pool size that is not a power of two or small
		Entry("seven servers", 7, 13),
		// a single server takes everything
		Entry("one server", 1, 10),
	)
})

var _ = Describe("weighted_round_robin", func() {
	var b balance.Balancer
	BeforeEach(func() { b = mustNew(balance.Config{Policy: "weighted_round_robin"}) })

	It("should interleave smoothly like nginx", func() {
		us := pool(3, 5, 1, 1)
		var seq []string
		for range 7 {
			seq = append(seq, b.Pick(nil, us).Name)
		}
		Expect(seq).To(Equal([]string{"server1", "server1", "server2", "server1", "server3", "server1", "server1"}))
	})

	It("should give each server its weight's share", func() {
		counts := tally(b, pool(3, 3, 2, 1), 600)
		Expect(counts).To(Equal(map[string]int{"server1": 300, "server2": 200, "server3": 100}))
		Expect(balance.Fairness(counts, map[string]int{"server1": 3, "server2": 2, "server3": 1})).To(BeNumerically("==", 1))
	})

	It("should follow a weight change at once", func() {
		us := pool(2)
		tally(b, us, 10)
		us[1].SetWeight(3)
		Expect(tally(b, us, 400)).To(Equal(map[string]int{"server1": 100, "server2": 300}))
	})
})

var _ = Describe("random", func() {
	It("should spread picks evenly within 10%", func() {
		counts := tally(mustNew(balance.Config{Policy: "random", Seed: 7}), pool(3), 30000)
		for name, c := range counts {
			Expect(c).To(BeNumerically("~", 10000, 1000), name)
		}
	})

	It("should repeat its choices for the same seed", func() {
		us := pool(5)
		a, b := mustNew(balance.Config{Policy: "random", Seed: 42}), mustNew(balance.Config{Policy: "random", Seed: 42})
		for range 100 {
			Expect(a.Pick(nil, us)).To(BeIdenticalTo(b.Pick(nil, us)))
		}
	})
})

var _ = Describe("least_conn", func() {
	var (
		b  balance.Balancer
		us []*balance.Upstream
	)
	BeforeEach(func() {
		b = mustNew(balance.Config{Policy: "least_conn"})
		us = pool(3)
	})

	It("should break ties round robin", func() {
		Expect(tally(b, us, 300)).To(Equal(map[string]int{"server1": 100, "server2": 100, "server3": 100}))
	})

	It("should steer away from a server with many requests in flight", func() {
		for range 10 {
			us[1].Acquire()
		}
		DeferCleanup(func() {
			for range 10 {
				us[1].Release()
			}
		})
		counts := tally(b, us, 300)
		Expect(counts).NotTo(HaveKey("server2"))
		Expect(counts).To(Equal(map[string]int{"server1": 150, "server3": 150}))
	})

	It("should pick the least loaded as requests start and end", func() {
		for range 9 {
			b.Pick(nil, us).Acquire()
		}
		for _, u := range us {
			Expect(u.InFlight()).To(BeEquivalentTo(3), u.Name)
		}
		us[2].Release()
		Expect(b.Pick(nil, us)).To(BeIdenticalTo(us[2]))
	})
})

var _ = Describe("p2c", func() {
	It("should spread picks evenly within 10% when idle", func() {
		counts := tally(mustNew(balance.Config{Policy: "p2c", Seed: 3}), pool(4), 20000)
		for name, c := range counts {
			Expect(c).To(BeNumerically("~", 5000, 500), name)
		}
	})

	It("should never draw the same server twice", func() {
		// With two servers both are always drawn, so the loaded one can only
		// win if it was drawn twice.
		us := pool(2)
		us[0].Acquire()
		DeferCleanup(us[0].Release)
		counts := tally(mustNew(balance.Config{Policy: "p2c", Seed: 9}), us, 2000)
		Expect(counts).To(Equal(map[string]int{"server2": 2000}))
	})

	It("should steer away from a server with many requests in flight", func() {
		us := pool(5)
		for range 20 {
			us[0].Acquire()
		}
		DeferCleanup(func() {
			for range 20 {
				us[0].Release()
			}
		})
		counts := tally(mustNew(balance.Config{Policy: "p2c", Seed: 11}), us, 5000)
		Expect(counts).NotTo(HaveKey("server1"))
	})
})

var _ = Describe("first", func() {
	It("should pick the first candidate in config order", func() {
		us := pool(3)
		Expect(tally(mustNew(balance.Config{Policy: "first"}), us, 50)).To(Equal(map[string]int{"server1": 50}))
		Expect(tally(mustNew(balance.Config{Policy: "first"}), us[1:], 50)).To(Equal(map[string]int{"server2": 50}))
	})
})

var _ = Describe("Fairness", func() {
	DescribeTable("should compute Jain's index of share against weight",
		func(counts, weights map[string]int, want float64) {
			Expect(balance.Fairness(counts, weights)).To(BeNumerically("~", want, 1e-9))
		},
		// shares exactly proportional to weights are perfectly fair
		Entry("shares follow weights", map[string]int{"a": 300, "b": 100}, map[string]int{"a": 3, "b": 1}, 1.0),
		// one server of four taking everything is the worst case, 1/n
		Entry("one takes all", map[string]int{"a": 40}, map[string]int{"a": 1, "b": 1, "c": 1, "d": 1}, 0.25),
		// 2:1 on equal weights: (3)²/(2·5)
		Entry("two to one on equal weights", map[string]int{"a": 2, "b": 1}, nil, 0.9),
		// an even split ignoring 3:1 weights is unfair: x = 50, 150 → 200²/(2·25000)
		Entry("even split against 3:1 weights", map[string]int{"a": 150, "b": 150}, map[string]int{"a": 3, "b": 1}, 0.8),
		// no traffic is not unfair
		Entry("no requests", map[string]int{}, map[string]int{"a": 1}, 1.0),
		// nothing to compare
		Entry("no servers", nil, nil, 1.0),
	)

	It("should report a skewed pool as less fair than a balanced one", func() {
		us := pool(3)
		rr := tally(mustNew(balance.Config{}), us, 300)
		first := tally(mustNew(balance.Config{Policy: "first"}), us, 300)
		w := map[string]int{"server1": 1, "server2": 1, "server3": 1}
		Expect(balance.Fairness(rr, w)).To(BeNumerically(">", balance.Fairness(first, w)))
		Expect(fmt.Sprintf("%.3f", balance.Fairness(first, w))).To(Equal("0.333"))
	})
})
