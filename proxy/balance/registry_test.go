package balance_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
)

var _ = Describe("the policy registry", func() {
	It("should list every policy by its contract name", func() {
		Expect(balance.Policies()).To(Equal([]string{
			"consistent_hash", "first", "least_conn", "p2c", "random",
			"round_robin", "sticky_cookie", "weighted_round_robin",
		}))
	})

	It("should build every listed policy", func() {
		for _, name := range balance.Policies() {
			b, err := balance.New(balance.Config{Policy: name})
			Expect(err).NotTo(HaveOccurred(), name)
			Expect(b.Pick(request("127.0.2.1", "a"), pool(3))).NotTo(BeNil(), name)
		}
	})

	It("should build round robin from the zero Config", func() {
		Expect(mustNew(balance.Config{})).To(BeAssignableToTypeOf(&balance.RoundRobin{}))
	})

	It("should reject an unknown name and list the accepted ones", func() {
		_, err := balance.New(balance.Config{Policy: "fastest"})
		Expect(err).To(MatchError(And(
			ContainSubstring(`"fastest"`),
			ContainSubstring("round_robin"),
			ContainSubstring("weighted_round_robin"),
			ContainSubstring("sticky_cookie"),
		)))
	})

	DescribeTable("should reject bad settings with the value and the expected form",
		func(cfg balance.Config, want string) {
			_, err := balance.New(cfg)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		// a load factor below 1 would cap every server under the mean: nothing could be picked
		Entry("load factor below 1", balance.Config{Policy: "consistent_hash", LoadFactor: 0.5}, "load factor 0.5"),
		// a typo in the key form must not silently hash nothing
		Entry("unknown hash key", balance.Config{Policy: "consistent_hash", Key: "query:q"}, `"query:q": want ip, uri, header:NAME or cookie:NAME`),
		// a header key needs a header name
		Entry("header key without a name", balance.Config{Policy: "consistent_hash", Key: "header:"}, "header:NAME"),
		// a negative window has no meaning
		Entry("negative slow start", balance.Config{SlowStart: -1}, "slow start"),
	)
})

var _ = Describe("AppendAvailable", func() {
	It("should keep only the members that may take a request, in order", func() {
		us := pool(5)
		now := time.Now()
		us[0].SetHealthy(false)
		us[2].SetDraining(true)
		us[3].Eject(now.Add(time.Minute))
		got := balance.AppendAvailable(nil, us, now)
		Expect(got).To(Equal([]*balance.Upstream{us[1], us[4]}))
		Expect(balance.AppendAvailable(got[:0], us, now.Add(2*time.Minute))).To(Equal([]*balance.Upstream{us[1], us[3], us[4]}))
	})
})
