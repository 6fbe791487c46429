package examples_test

import (
	"bytes"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/server"
	"github.com/proxylab/proxylab/sim/simtest"
)

var _ = Describe("nginx as the reverse proxy", Label("external"), func() {
	var (
		w      *sim.World
		stderr *bytes.Buffer
	)

	BeforeEach(func(ctx SpecContext) {
		simtest.SkipUnlessInstalled("nginx", "install it (apt-get install nginx-light)")
		stderr = &bytes.Buffer{}
		w = simtest.NewWorld(ctx, simtest.WithServers(3), simtest.WithProxy(simtest.Nginx(stderr)))
	})

	It("should spread the load evenly and lose nothing", func(ctx SpecContext) {
		rep, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 500 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(w).To(simtest.HaveLostNothing(), "nginx said: %s", stderr)
		Expect(w).To(simtest.HaveFailedNothing())
		Expect(w).To(simtest.BeDistributedLike(map[string]int{"server1": 1, "server2": 1, "server3": 1}, 0.1))
		Expect(w).To(simtest.HaveSeenHeaderValue("X-Forwarded-For", HavePrefix("127.0.2.")))
		Expect(w).NotTo(simtest.HaveSeenHeader("Via"), "nginx adds no Via")
		Expect(rep).To(simtest.HaveLatencyPercentile(99, BeNumerically("<", 3*time.Second)))
	}, SpecTimeout(30*time.Second))

	It("should take a crashed server's GETs to the others", func(ctx SpecContext) {
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 800 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}}, simtest.At(200*time.Millisecond, simtest.Crash("server2")))
		Expect(err).NotTo(HaveOccurred())
		Expect(w).To(simtest.HaveLostNothing(), "nginx said: %s", stderr)
		Expect(w).To(simtest.HaveFailedNothing())
		Expect(simtest.Server(w, "server2")).To(simtest.ReceiveNoTrafficBetween(250*time.Millisecond, 0))
	}, SpecTimeout(30*time.Second))

	It("should send a server added under load its share once nginx reloads", func(ctx SpecContext) {
		var events []simtest.EventRecord
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 900 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}}, simtest.At(200*time.Millisecond, simtest.AddServer(server.Config{Name: "server4"}, 1)), simtest.RecordEvents(&events))
		Expect(err).NotTo(HaveOccurred(), "nginx said: %s", stderr)
		Expect(w).To(simtest.HaveLostNothing(), "nginx said: %s", stderr)
		Expect(simtest.Server(w, "server4")).NotTo(simtest.ReceiveNoTrafficBetween(events[0].Done, 0))
	}, SpecTimeout(30*time.Second))
})
