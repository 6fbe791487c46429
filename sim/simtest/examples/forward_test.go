package examples_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/simtest"
)

// The forward drawing: the clients know the proxy and name the server they
// want in each URL (http://server2/…); the proxy reaches it for them.
//
//	cli1 ─┐
//	cli2 ─┼──▶ proxy ──────────▶ server1, server2
//	cli3 ─┘
var _ = Describe("the forward drawing", Label("forward"), func() {
	var w *sim.World

	BeforeEach(func(ctx SpecContext) {
		w = simtest.NewWorld(ctx, simtest.WithServers(2), simtest.WithForwardProxy(forward.Config{Open: true}))
	})

	It("should reach the server each URL names", func(ctx SpecContext) {
		out := w.Do(ctx, "cli1", client.Request{URL: "http://server2/search?q=proxy"})
		Expect(out).To(simtest.BeServedBy("server2"))
		out = w.Do(ctx, "cli3", client.Request{URL: "http://server1/"})
		Expect(out).To(simtest.BeServedBy("server1"))
	})

	It("should carry load to every server by name, losing and misrouting nothing", func(ctx SpecContext) {
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 500 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(w).To(simtest.HaveLostNothing())
		Expect(w).To(simtest.HaveFailedNothing())
		Expect(w.Ledger().Summary().Misrouted).To(BeZero())
		// DefaultRequests names the servers in turn, so they share the load.
		Expect(w).To(simtest.BeDistributedLike(map[string]int{"server1": 1, "server2": 1}, 0.05))
		Expect(w).To(simtest.HaveSeenHeaderOnEvery("Via"))
	}, SpecTimeout(30*time.Second))

	It("should not hand the clients' proxy credentials to the servers", func(ctx SpecContext) {
		w.Do(ctx, "cli1", client.Request{URL: "http://server1/", Header: map[string][]string{
			"Proxy-Authorization": {"Basic dXNlcjpwYXNz"},
		}})
		Expect(w).NotTo(simtest.HaveSeenHeader("Proxy-Authorization"))
	})
})
