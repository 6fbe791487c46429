package balance_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
)

var _ = Describe("slow start", func() {
	const (
		window = time.Hour
		picks  = 4000
	)

	// share returns the share of picks server1 gets when it became available
	// age ago and its three peers long ago.
	share := func(policy string, age time.Duration) float64 {
		b := mustNew(balance.Config{Policy: policy, SlowStart: window, Seed: 5, Key: "header:X-Key"})
		us := pool(4)
		for _, u := range us[1:] {
			balance.SetUpSince(u, time.Now().Add(-2*window))
		}
		balance.SetUpSince(us[0], time.Now().Add(-age))
		return float64(tally(b, us, picks)["server1"]) / picks
	}

	DescribeTable("should ramp a new server from 10% to 100% of its share",
		func(policy string, full float64) {
			start, half, done := share(policy, 0), share(policy, window/2), share(policy, 2*window)
			Expect(done).To(BeNumerically("~", full, full*0.15), "after the window")
			Expect(start).To(BeNumerically("<", full*0.3), "at the start")
			Expect(half).To(BeNumerically(">", start))
			Expect(half).To(BeNumerically("<", done))
		},
		// weighted: the weight is scaled, 0.1 → 0.1/3.1 of picks
		Entry("weighted_round_robin", "weighted_round_robin", 0.25),
		// the others pass a ramping server over with probability 1-f
		Entry("round_robin", "round_robin", 0.25),
		Entry("least_conn", "least_conn", 0.25),
		Entry("p2c", "p2c", 0.25),
		Entry("random", "random", 0.25),
		// hashing keeps a growing, stable subset of the server's keys
		Entry("consistent_hash", "consistent_hash", 0.25),
		// sticky falls back to round robin for cookieless requests
		Entry("sticky_cookie", "sticky_cookie", 0.25),
		// a recovered primary takes its traffic back gradually
		Entry("first", "first", 1.0),
	)

	It("should ramp weighted round robin linearly", func() {
		// at half the window f = 0.55: share 0.55 / 3.55
		Expect(share("weighted_round_robin", window/2)).To(BeNumerically("~", 0.55/3.55, 0.01))
	})

	It("should ignore slow start when every candidate is ramping", func() {
		b := mustNew(balance.Config{Policy: "least_conn", SlowStart: window})
		us := pool(2)
		Expect(tally(b, us, 100)).To(HaveLen(2))
	})
})
