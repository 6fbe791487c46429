package loadgen_test

import (
	"math"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
)

// schedule drives p the way the engine does over d and returns the intended
// offsets of its hits.
func schedule(p loadgen.Pacer, d time.Duration) []time.Duration {
	var out []time.Duration
	var elapsed time.Duration
	for hits := uint64(0); hits < 1_000_000; hits++ {
		wait, stop := p.Pace(elapsed, hits)
		if stop || elapsed+wait >= d {
			break
		}
		elapsed += wait
		out = append(out, elapsed)
	}
	return out
}

// gaps returns the spacing between consecutive offsets.
func gaps(offs []time.Duration) []time.Duration {
	var g []time.Duration
	for i := 1; i < len(offs); i++ {
		g = append(g, offs[i]-offs[i-1])
	}
	return g
}

var _ = Describe("Pacer", func() {
	DescribeTable("should plan the expected number of hits",
		func(p loadgen.Pacer, d time.Duration, want int) {
			Expect(schedule(p, d)).To(HaveLen(want))
		},
		// The plain case: 100/s for 1 s is hits at 0, 10ms, …, 990ms.
		Entry("constant 100/s over 1s", loadgen.Constant(100), time.Second, 100),
		// A rate below one per second must still pace whole hits, not round to zero.
		Entry("constant 0.5/s over 10s", loadgen.Constant(0.5), 10*time.Second, 5),
		// A zero rate stops instead of spinning on a zero wait.
		Entry("constant 0 sends nothing", loadgen.Constant(0), time.Second, 0),
		// A ramp from 0 owes the area under the rate line: 100/s × 1 s / 2 = 50.
		Entry("linear 0→100/s over 1s", loadgen.Linear(0, 100, time.Second), time.Second, 50),
		// A downward ramp owes the same area, front-loaded.
		Entry("linear 100→0/s over 1s", loadgen.Linear(100, 0, time.Second), time.Second, 50),
		// After the ramp the pacer holds the final rate: 50 + 100.
		Entry("linear 0→100/s over 1s, then 1s at 100/s", loadgen.Linear(0, 100, time.Second), 2*time.Second, 150),
		// Equal ends degenerate to a constant rate (no division by a zero slope).
		Entry("linear 40→40/s over 1s", loadgen.Linear(40, 40, time.Second), time.Second, 40),
		// Steps add up their stretches: 10 + 100.
		Entry("steps 10/s then 100/s", loadgen.Steps(loadgen.Step{Rate: 10, Duration: time.Second}, loadgen.Step{Rate: 100, Duration: time.Second}), 3*time.Second, 110),
		// A zero-rate step is a pause, not the end.
		Entry("steps with a pause", loadgen.Steps(loadgen.Step{Rate: 10, Duration: time.Second}, loadgen.Step{Rate: 0, Duration: time.Second}, loadgen.Step{Rate: 10, Duration: time.Second}), 3*time.Second, 20),
		// A last step of duration 0 lasts until the phase ends.
		Entry("steps whose last step is open-ended", loadgen.Steps(loadgen.Step{Rate: 10, Duration: time.Second}, loadgen.Step{Rate: 20}), 3*time.Second, 50),
	)

	DescribeTable("should space hits as the shape says",
		func(p loadgen.Pacer, d time.Duration, check func(g []time.Duration)) {
			check(gaps(schedule(p, d)))
		},
		// Constant pacing is evenly spaced, not bursty.
		Entry("constant 100/s is every 10ms", loadgen.Constant(100), time.Second, func(g []time.Duration) {
			for _, x := range g {
				Expect(x).To(BeNumerically("~", 10*time.Millisecond, time.Microsecond))
			}
		}),
		// An upward ramp tightens the spacing as the rate grows.
		Entry("linear up gets denser", loadgen.Linear(10, 100, time.Second), time.Second, func(g []time.Duration) {
			Expect(g[0]).To(BeNumerically(">", 5*g[len(g)-1]))
			for i := 1; i < len(g); i++ {
				Expect(g[i]).To(BeNumerically("<=", g[i-1]+time.Microsecond))
			}
		}),
		// Steps switch spacing at the boundary: 100ms gaps, then 10ms gaps.
		Entry("steps change spacing at the boundary", loadgen.Steps(loadgen.Step{Rate: 10, Duration: time.Second}, loadgen.Step{Rate: 100, Duration: time.Second}), 2*time.Second, func(g []time.Duration) {
			Expect(g[0]).To(BeNumerically("~", 100*time.Millisecond, time.Microsecond))
			Expect(g[len(g)-1]).To(BeNumerically("~", 10*time.Millisecond, time.Microsecond))
		}),
	)

	Describe("Poisson", func() {
		It("should average the asked rate", func() {
			// 20,000 exponential gaps at 1000/s: the mean gap is 1ms within a few
			// percent (the standard error is 1/sqrt(20000) ≈ 0.7%).
			offs := schedule(loadgen.Poisson(1000, 42), time.Hour)[:20000]
			mean := offs[len(offs)-1].Seconds() / float64(len(offs)-1)
			Expect(mean).To(BeNumerically("~", 0.001, 0.00005))
			// Exponential gaps have a standard deviation equal to their mean.
			var sum2 float64
			for _, g := range gaps(offs) {
				sum2 += math.Pow(g.Seconds()-mean, 2)
			}
			Expect(math.Sqrt(sum2 / float64(len(offs)-1))).To(BeNumerically("~", 0.001, 0.0001))
		})

		It("should give the same schedule for the same seed and another for another seed", func() {
			a := schedule(loadgen.Poisson(500, 7), time.Second)
			b := schedule(loadgen.Poisson(500, 7), time.Second)
			c := schedule(loadgen.Poisson(500, 8), time.Second)
			Expect(a).To(Equal(b))
			Expect(a).NotTo(Equal(c))
		})
	})

	It("should accept a PacerFunc", func() {
		p := loadgen.PacerFunc(func(_ time.Duration, hits uint64) (time.Duration, bool) {
			return 100 * time.Millisecond, hits >= 3
		})
		Expect(schedule(p, time.Second)).To(Equal([]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}))
	})
})

var _ = Describe("ParseRate", func() {
	DescribeTable("should read valid rates as hits per second",
		func(in string, want float64) {
			got, err := loadgen.ParseRate(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(BeNumerically("~", want, 1e-9))
		},
		// The common form.
		Entry("per second", "400/s", 400.0),
		// A duration as the unit, as vegeta writes it.
		Entry("per 100ms", "20/100ms", 200.0),
		// Slow rates stay fractional.
		Entry("per minute", "1000/1m", 1000.0/60),
		// A bare unit other than s.
		Entry("per millisecond", "2/ms", 2000.0),
		// Fractions and spaces are tolerated.
		Entry("fractional with spaces", " 0.5 / s ", 0.5),
	)

	DescribeTable("should reject bad rates naming the accepted form",
		func(in, mention string) {
			_, err := loadgen.ParseRate(in)
			Expect(err).To(MatchError(ContainSubstring(mention)))
			Expect(err).To(MatchError(ContainSubstring(`"400/s"`)))
		},
		// A zero rate would send nothing: say so.
		Entry("zero", "0/s", "must be positive"),
		// Negative rates make no sense.
		Entry("negative", "-5/s", "must be positive"),
		// No unit is ambiguous (per second? per minute?).
		Entry("no unit", "400", "missing unit"),
		// A typo in the unit must be named.
		Entry("unknown unit", "400/sec", `unknown unit "sec"`),
		// Not a number at all.
		Entry("not a number", "fast/s", "not a number"),
		// A zero duration unit would divide by zero.
		Entry("zero unit", "5/0s", "positive duration"),
	)
})
