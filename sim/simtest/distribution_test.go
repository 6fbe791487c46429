package simtest_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
	"github.com/proxylab/proxylab/sim/simtest"
)

var _ = Describe("BeDistributedLike", func() {
	DescribeTable("should compare each server's share with its weight's share",
		func(counts map[string]int, weights map[string]int, tol float64, want bool) {
			ok, err := simtest.BeDistributedLike(weights, tol).Match(counts)
			Expect(err).NotTo(HaveOccurred())
			Expect(ok).To(Equal(want))
		},
		// An exact split passes with no tolerance at all.
		Entry("exact 1:1", map[string]int{"a": 50, "b": 50}, map[string]int{"a": 1, "b": 1}, 0.0, true),
		// Weights 3:1 mean shares 75% and 25%; 70/30 is 5 points off, inside ±6.
		Entry("3:1 within tolerance", map[string]int{"a": 70, "b": 30}, map[string]int{"a": 3, "b": 1}, 0.06, true),
		// The same split is outside ±4 points.
		Entry("3:1 outside tolerance", map[string]int{"a": 70, "b": 30}, map[string]int{"a": 3, "b": 1}, 0.04, false),
		// A server with weight 0 must get nothing.
		Entry("weight 0 that got traffic", map[string]int{"a": 90, "b": 10}, map[string]int{"a": 1, "b": 0}, 0.05, false),
		// A server that is not in the weights counts as weight 0.
		Entry("a stranger got traffic", map[string]int{"a": 50, "x": 50}, map[string]int{"a": 1}, 0.1, false),
		// A weighted server that got nothing is off by its whole share.
		Entry("a weighted server starved", map[string]int{"a": 100}, map[string]int{"a": 1, "b": 1}, 0.1, false),
		// Nothing counted is a failure, never a vacuous pass.
		Entry("nothing counted", map[string]int{}, map[string]int{"a": 1}, 1.0, false),
	)

	It("should show every server's count, share and expected share", func() {
		msg := InterceptGomegaFailure(func() {
			Expect(map[string]int{"server1": 90, "server2": 10}).To(
				simtest.BeDistributedLike(map[string]int{"server1": 1, "server2": 1}, 0.05))
		})
		Expect(msg).To(MatchError(And(
			ContainSubstring("Expected the counts to be distributed like {server1:1 server2:1} within ±5.0%"),
			ContainSubstring("100 requests: server1 90 (90.0%, want 50.0%) off; server2 10 (10.0%, want 50.0%) off"),
		)))
	})

	It("should refuse a tolerance that is not a share and weights that add up to nothing", func() {
		_, err := simtest.BeDistributedLike(map[string]int{"a": 1}, 5).Match(map[string]int{"a": 1})
		Expect(err).To(MatchError(ContainSubstring("tolerance 5 is not a share between 0 and 1")))
		_, err = simtest.BeDistributedLike(map[string]int{"a": 0}, 0.1).Match(map[string]int{"a": 1})
		Expect(err).To(MatchError(ContainSubstring("add up to 0")))
	})

	It("should read a weighted round robin world's counts", func(ctx SpecContext) {
		w := simtest.NewWorld(ctx,
			simtest.WithServer(server.Config{Name: "big"}, 3),
			simtest.WithServer(server.Config{Name: "small"}, 1),
			simtest.WithReverseProxy(reverse.Config{Pools: []reverse.PoolConfig{{
				Name: "default", Balance: balance.Config{Policy: "weighted_round_robin"},
			}}}),
		)
		for range 40 {
			w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
		}
		Expect(w).To(simtest.BeDistributedLike(map[string]int{"big": 3, "small": 1}, 0.05))
		Expect(w.Ledger()).NotTo(simtest.BeDistributedLike(map[string]int{"big": 1, "small": 1}, 0.05))
	})
})
