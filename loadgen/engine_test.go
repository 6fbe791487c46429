package loadgen_test

import (
	"context"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
)

// okDoer answers at once with 200.
func okDoer() loadgen.Doer {
	return loadgen.DoerFunc(func(_ context.Context, _ loadgen.Slot) loadgen.Result {
		return loadgen.Result{Status: 200, Bytes: 2}
	})
}

var _ = Describe("Run", func() {
	When("an open-loop phase paces a constant rate against an instant doer", func() {
		It("should send every planned slot on time", func(ctx SpecContext) {
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Name: "steady", Duration: 500 * time.Millisecond, Pacer: loadgen.Constant(200)},
			}}, okDoer())
			Expect(err).NotTo(HaveOccurred())
			ph, ok := rep.Phase("steady")
			Expect(ok).To(BeTrue())
			Expect(ph.Stats.Planned).To(BeEquivalentTo(100))
			Expect(ph.Stats.Sent).To(BeEquivalentTo(100))
			Expect(ph.Stats.Requests).To(BeEquivalentTo(100))
			Expect(ph.Stats.Unsent).To(BeZero())
			Expect(ph.Stats.Successes).To(BeEquivalentTo(100))
			Expect(rep.Overall.Requests).To(BeEquivalentTo(100))
		}, SpecTimeout(10*time.Second))
	})

	When("a closed-loop phase has two connections", func() {
		It("should send back to back until the phase ends", func(ctx SpecContext) {
			var n atomic.Int64
			d := loadgen.DoerFunc(func(_ context.Context, _ loadgen.Slot) loadgen.Result {
				n.Add(1)
				time.Sleep(time.Millisecond)
				return loadgen.Result{Status: 200}
			})
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Duration: 200 * time.Millisecond, Connections: 2},
			}}, d)
			Expect(err).NotTo(HaveOccurred())
			Expect(rep.Phases[0].Name).To(Equal("phase1"))
			Expect(rep.Phases[0].Mode).To(Equal("closed"))
			Expect(rep.Overall.Requests).To(Equal(n.Load()))
			Expect(n.Load()).To(BeNumerically(">", 20))
		}, SpecTimeout(10*time.Second))
	})
})
