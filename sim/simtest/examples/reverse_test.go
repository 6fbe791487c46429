package examples_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/simtest"
)

// The reverse drawing: the clients know one address, the proxy, which owns
// the servers. Here /api goes to server1 alone and everything else is
// spread over server2 and server3.
//
//	cli1 ─┐             ┌──▶ server1   (/api)
//	cli2 ─┼──▶ proxy ───┼──▶ server2   (/)
//	cli3 ─┘             └──▶ server3   (/)
var _ = Describe("the reverse drawing", Label("reverse"), func() {
	var w *sim.World

	BeforeEach(func(ctx SpecContext) {
		w = simtest.NewWorld(ctx,
			simtest.WithServers(3),
			simtest.WithReverseProxy(reverse.Config{
				Pools: []reverse.PoolConfig{
					{Name: "api", Servers: []reverse.ServerConfig{{Name: "server1"}}},
					{Name: "web", Servers: []reverse.ServerConfig{{Name: "server2"}, {Name: "server3"}}},
				},
				Routes: []reverse.RouteConfig{{Path: "/api", Pool: "api"}, {Path: "/", Pool: "web"}},
			}),
		)
	})

	It("should route by path", func(ctx SpecContext) {
		api := w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/api/orders"})
		Expect(api).To(simtest.BeServedBy("server1"))
		page := w.Do(ctx, "cli2", client.Request{URL: w.TargetURL("cli2", "") + "/index.html"})
		Expect(page).NotTo(simtest.BeServedBy("server1"))
	})

	It("should spread the web pool evenly under load, lose nothing and keep latency low", func(ctx SpecContext) {
		rep, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "warmup", Duration: 200 * time.Millisecond, Pacer: loadgen.Constant(50)},
			{Name: "steady", Duration: 600 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}})
		Expect(err).NotTo(HaveOccurred())

		Expect(w).To(simtest.HaveLostNothing())
		Expect(w).To(simtest.HaveNoDuplicates())
		Expect(w).To(simtest.BeDistributedLike(map[string]int{"server2": 1, "server3": 1}, 0.05))
		Expect(simtest.Server(w, "server1")).To(simtest.ReceiveNoTrafficBetween(0, 0))
		// The bounds are loose on purpose: this suite runs under -race beside
		// others on two cores. Speed goals belong in benchmarks.
		Expect(rep).To(simtest.HaveLatencyPercentile(99, BeNumerically("<", 3*time.Second)))
		steady, _ := rep.Phase("steady")
		Expect(steady.Stats.Raw).To(simtest.HaveLatencyPercentile(50, BeNumerically("<", time.Second)))
	}, SpecTimeout(30*time.Second))

	It("should tell the servers who asked and through what", func(ctx SpecContext) {
		for _, c := range w.Clients() {
			w.DoWith(ctx, c, client.Request{URL: w.TargetURL(c.Name(), "") + "/", Header: map[string][]string{
				"X-Forwarded-For": {"6.6.6.6"}, // forged: an untrusted client's value is replaced
			}})
		}
		Expect(w).To(simtest.HaveSeenHeaderOnEvery("Via"))
		Expect(w).To(simtest.HaveSeenHeaderValue("Via", "1.1 proxylab"))
		Expect(w).To(simtest.HaveSeenHeaderValue("X-Forwarded-For", HavePrefix("127.0.2.")))
		Expect(w).NotTo(simtest.HaveSeenHeaderValue("X-Forwarded-For", ContainSubstring("6.6.6.6")))
	})
})
