package simtest_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
	"github.com/proxylab/proxylab/sim/simtest"
)

var _ = Describe("NewWorld", func() {
	It("should start three servers and three clients by default, on loopback port 0", func(ctx SpecContext) {
		w := simtest.NewWorld(ctx)
		Expect(w.ServerNames()).To(Equal([]string{"server1", "server2", "server3"}))
		Expect(w.Clients()).To(HaveLen(3))
		s, _ := w.Server("server1")
		Expect(s.Addr()).To(HavePrefix("127.0.1."))
		Expect(s.Addr()).NotTo(HaveSuffix(":0"))
	})

	It("should add named servers and clients after the numbered ones", func(ctx SpecContext) {
		w := simtest.NewWorld(ctx,
			simtest.WithServers(2),
			simtest.WithServer(server.Config{Name: "slow", Behaviour: server.Behaviour{}}, 3),
			simtest.WithClients(1),
			simtest.WithClient(client.Config{Name: "browser"}),
		)
		Expect(w.ServerNames()).To(Equal([]string{"server1", "server2", "slow"}))
		_, ok := w.Client("browser")
		Expect(ok).To(BeTrue())
		Expect(w.Topology().Servers[2].Weight).To(Equal(3))
	})
})

var _ = Describe("Build", func() {
	It("should return an error and leave nothing running when a name is used twice", func(ctx SpecContext) {
		w, err := simtest.Build(ctx, simtest.WithServers(1), simtest.WithServer(server.Config{Name: "server1"}, 1))
		Expect(err).To(MatchError(ContainSubstring("server1")))
		Expect(w).To(BeNil())
	})

	It("should return an error naming a link whose ends are unknown", func(ctx SpecContext) {
		w, err := simtest.Build(ctx, simtest.WithLink("bad", "proxy", "nowhere"))
		if w != nil {
			DeferCleanup(w.Stop)
		}
		Expect(err).To(MatchError(ContainSubstring(`link bad: to "nowhere" is not a node of the world`)))
	})
})

var _ = Describe("Drive", func() {
	var w *sim.World

	BeforeEach(func(ctx SpecContext) {
		w = simtest.NewWorld(ctx, simtest.WithReverseProxy(reverse.Config{}))
	})

	It("should send the plan through every client and record each request in the ledger", func(ctx SpecContext) {
		rep, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 300 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Overall.Requests).To(BeNumerically(">", 20))
		Expect(w.Ledger().Summary().Sent).To(BeEquivalentTo(rep.Overall.Requests))
		Expect(rep.Phases[0].ByClient).To(HaveKey("cli1"))
		Expect(rep.Phases[0].ByClient).To(HaveKey("cli3"))
		Expect(rep.Phases[0].ByServer).To(HaveLen(3))
		Expect(w).To(simtest.HaveLostNothing())
	})

	It("should apply events at their offsets from the start of the load", func(ctx SpecContext) {
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Duration: 600 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}}, simtest.At(200*time.Millisecond, simtest.Drain("server2")))
		Expect(err).NotTo(HaveOccurred())
		Expect(simtest.Server(w, "server2")).NotTo(simtest.ReceiveNoTrafficBetween(0, 200*time.Millisecond))
		Expect(simtest.Server(w, "server2")).To(simtest.ReceiveNoTrafficBetween(300*time.Millisecond, 0))
	})

	It("should record when each event was applied", func(ctx SpecContext) {
		var events []simtest.EventRecord
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Duration: 300 * time.Millisecond, Connections: 1},
		}},
			simtest.At(150*time.Millisecond, simtest.Recover("server1")),
			simtest.At(50*time.Millisecond, simtest.Crash("server1")),
			simtest.At(100*time.Millisecond, simtest.SetWeight("server9", 2)),
			simtest.RecordEvents(&events),
		)
		Expect(err).To(MatchError(ContainSubstring("event weight server9=2 at 100ms")))
		Expect(events).To(HaveLen(3))
		Expect(events[0].Name).To(Equal("crash server1"))
		Expect(events[0].Started).To(BeNumerically(">=", 50*time.Millisecond))
		Expect(events[0].Done).To(BeNumerically(">=", events[0].Started))
		Expect(events[1].Err).To(HaveOccurred())
		Expect(events[2].Name).To(Equal("recover server1"))
		Expect(events[2].Err).NotTo(HaveOccurred())
	})

	It("should report an event that cannot be applied, and still return the report", func(ctx SpecContext) {
		rep, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Duration: 100 * time.Millisecond, Connections: 1},
		}}, simtest.At(10*time.Millisecond, simtest.Crash("server9")))
		Expect(err).To(MatchError(ContainSubstring("event crash server9 at 10ms: crash: no server named server9")))
		Expect(rep).NotTo(BeNil())
	})

	It("should refuse an unbounded plan before sending anything", func(ctx SpecContext) {
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{{Connections: 1}}})
		Expect(err).To(MatchError(ContainSubstring("duration 0s must be positive")))
		Expect(w.Ledger().Summary().Sent).To(BeZero())
	})

	It("should refuse an event the load would never reach", func(ctx SpecContext) {
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{{Duration: 100 * time.Millisecond, Connections: 1}}},
			simtest.At(time.Second, simtest.Crash("server1")),
			simtest.At(0, simtest.Event{Name: "nothing"}))
		Expect(err).To(MatchError(And(
			ContainSubstring("event crash server1 at 1s is outside the load, which lasts 100ms (want 0 <= at < 100ms)"),
			ContainSubstring(`event "nothing" at 0s has no Apply func`),
		)))
		Expect(w.Ledger().Summary().Sent).To(BeZero())
	})

	It("should stop early when the context ends", func(ctx SpecContext) {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _ = simtest.Drive(short, w, loadgen.Plan{Phases: []loadgen.Phase{{Duration: 5 * time.Second, Connections: 2}}},
			simtest.At(4*time.Second, simtest.Crash("server1")))
		s, _ := w.Server("server1")
		Expect(s.Running()).To(BeTrue(), "the crash planned after the end was not applied")
		Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second))
	}, SpecTimeout(10*time.Second))
})
