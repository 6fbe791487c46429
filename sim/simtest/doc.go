// Package simtest makes proxylab a testing library: build a world in a few
// lines inside a Ginkgo spec, drive load through it with loadgen, change it
// while traffic flows, and assert on what happened with Gomega matchers whose
// failure messages say what was observed.
//
//	NewWorld(ctx, WithServers(3), WithReverseProxy(cfg))   started, stopped by DeferCleanup
//	        │
//	        ▼
//	Drive(ctx, w, plan, At(1*time.Second, Crash("server2")))   loadgen through the world's clients
//	        │                                                  every request in the ledger
//	        ▼
//	Expect(w).To(HaveLostNothing())                 ledger:   HaveLostNothing, HaveFailedNothing,
//	Expect(Server(w, "server2")).To(                          HaveNoDuplicates, HaveNoUnsafeDuplicates,
//	    ReceiveNoTrafficBetween(1200*time.Millisecond, 2*time.Second))   ReceiveNoTrafficBetween,
//	Expect(w).To(BeDistributedLike(weights, 0.05))            BeDistributedLike
//	Expect(report).To(HaveLatencyPercentile(99, BeNumerically("<", 50*time.Millisecond)))
//	Expect(w).To(HaveSeenHeader("Via"))             receipts: HaveSeenHeader, HaveSeenHeaderValue
//	Expect(outcome).To(BeServedBy("server1"))       outcomes: BeServedBy
//
// Scenario files run as specs of a user's own suite, through the same runner
// as `proxylab run` (scenarios.Run): DescribeScenarios(dir) makes one It per
// file, ScenarioEntries(dir) makes DescribeTable entries for RunCase. Each is
// labelled with the scenario's area; a failing check fails the spec with its
// observed value; a scenario whose external program is missing is skipped
// with the reason.
//
// Build and Drive return errors instead of failing a spec, so they work in a
// plain testing.T test or an Example function as well.
package simtest
