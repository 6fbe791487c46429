package sim_test

import (
	"context"
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
)

var _ = Describe("Play", func() {
	It("should apply the timeline on the load's clock and record every event", func(ctx SpecContext) {
		w := startWorld(ctx, 2, &sim.ReverseNode{Config: reverse.Config{}})
		plan := loadgen.Plan{Phases: []loadgen.Phase{{Name: "p", Duration: 900 * time.Millisecond, Pacer: loadgen.Constant(100)}}}
		var seen []string
		events := []sim.Event{
			{At: 600 * time.Millisecond, Name: "recover server2", Apply: func(_ context.Context, w *sim.World) error { return w.Recover("server2") }},
			{At: 300 * time.Millisecond, Name: "crash server2", Apply: func(_ context.Context, w *sim.World) error { return w.Crash("server2") }},
			{At: 800 * time.Millisecond, Name: "broken", Apply: func(context.Context, *sim.World) error { return errors.New("no") }},
		}
		rep, recs, err := w.Play(ctx, plan, w.Doer(nil), events, func(r sim.EventRecord) { seen = append(seen, r.Name) }, loadgen.WithGrace(time.Second))
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Overall.Requests).To(BeNumerically(">", 50))
		Expect(seen).To(Equal([]string{"crash server2", "recover server2", "broken"}))
		Expect(recs).To(HaveLen(3))
		Expect(recs[0].Started).To(BeNumerically(">=", 300*time.Millisecond))
		Expect(recs[2].Err).To(MatchError("no"))
		// The ledger's windows count from the same start: server2 got nothing while it was down.
		Expect(w.Ledger().ServerRequests("server2", recs[0].Done+20*time.Millisecond, recs[1].Started)).To(BeZero())
		Expect(w.Ledger().ServerRequests("server2", recs[1].Done+100*time.Millisecond, 0)).To(BeNumerically(">", 0))
	})
})
