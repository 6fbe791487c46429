package simtest_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim/server"
	"github.com/proxylab/proxylab/sim/simtest"
)

var _ = Describe("HaveLatencyPercentile", func() {
	DescribeTable("should read percentiles from exact samples by nearest rank",
		func(p float64, want time.Duration) {
			samples := []time.Duration{5 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}
			Expect(samples).To(simtest.HaveLatencyPercentile(p, Equal(want)))
		},
		// p0 is the smallest sample.
		Entry("min", 0.0, 1*time.Millisecond),
		// p50 of five samples is the third.
		Entry("median", 50.0, 3*time.Millisecond),
		// p80 of five is the fourth: rank ceil(0.8·5) = 4.
		Entry("p80", 80.0, 4*time.Millisecond),
		// p100 is the largest.
		Entry("max", 100.0, 5*time.Millisecond),
	)

	When("the servers take 20ms", func() {
		var rep *loadgen.Report

		BeforeEach(func(ctx SpecContext) {
			lat, err := server.ParseLatency("20ms")
			Expect(err).NotTo(HaveOccurred())
			slow := server.Behaviour{Latency: lat}
			w := simtest.NewWorld(ctx,
				simtest.WithServer(server.Config{Name: "server1", Behaviour: slow}, 1),
				simtest.WithReverseProxy(reverse.Config{}),
			)
			rep, err = simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
				{Name: "steady", Duration: 300 * time.Millisecond, Pacer: loadgen.Constant(50)},
			}})
			Expect(err).NotTo(HaveOccurred())
			Expect(w).To(simtest.HaveLatencyPercentile(50, BeNumerically(">=", 20*time.Millisecond)))
		})

		It("should pass a bound the report keeps", func() {
			Expect(rep).To(simtest.HaveLatencyPercentile(99, BeNumerically(">=", 20*time.Millisecond)))
			Expect(rep.Phases[0]).To(simtest.HaveLatencyPercentile(50, BeNumerically("<", 5*time.Second)))
			Expect(rep.Overall.Raw).To(simtest.HaveLatencyPercentile(100, BeNumerically(">=", 20*time.Millisecond)))
		})

		It("should say the percentile, the summary and the inner failure when the bound is broken", func() {
			msg := InterceptGomegaFailure(func() {
				Expect(rep).To(simtest.HaveLatencyPercentile(99, BeNumerically("<", 10*time.Millisecond)))
			})
			Expect(msg).To(MatchError(And(
				ContainSubstring("Expected the report's corrected latency to have a p99 latency that satisfies the matcher"),
				MatchRegexp(`observed: p99 is \d+(\.\d+)?ms \(of \d+: min`),
				ContainSubstring("to be <"),
			)))
		})

		It("should refuse a percentile loadgen does not keep", func() {
			_, err := simtest.HaveLatencyPercentile(95, BeNumerically("<", time.Second)).Match(rep)
			Expect(err).To(MatchError(ContainSubstring("not p95")))
		})
	})

	It("should refuse a percentile outside [0, 100] and an empty sample", func() {
		_, err := simtest.HaveLatencyPercentile(101, BeNumerically("<", time.Second)).Match([]time.Duration{1})
		Expect(err).To(MatchError(ContainSubstring("percentile 101 is not within [0, 100]")))
		_, err = simtest.HaveLatencyPercentile(50, BeNumerically("<", time.Second)).Match([]time.Duration{})
		Expect(err).To(MatchError(ContainSubstring("has no samples")))
	})
})
