package examples_test

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/simtest"
)

// A server crashes under load and comes back. Retries must hide the crash
// from every request that may be retried (a refused connection is retried on
// another server at once), and must never send a POST without an
// Idempotency-Key twice.
var _ = Describe("failover", Label("reverse", "failover"), func() {
	var w *sim.World

	BeforeEach(func(ctx SpecContext) {
		w = simtest.NewWorld(ctx,
			simtest.WithServers(3),
			simtest.WithReverseProxy(reverse.Config{Pools: []reverse.PoolConfig{{
				Name: "default",
				// No retry budget: every idempotent request may be retried.
				Retries: reverse.RetryConfig{Attempts: 3, Backoff: 5 * time.Millisecond, Budget: -1},
			}}}),
		)
	})

	It("should lose no idempotent request when a server crashes, and send it traffic again once it recovers", func(ctx SpecContext) {
		// One request in four is a POST without an Idempotency-Key.
		requests := func(s loadgen.Slot, c *client.Client) client.Request {
			req := client.Request{URL: w.TargetURL(c.Name(), "") + "/"}
			if s.Seq%4 == 3 {
				req.Method, req.Body = http.MethodPost, []byte("order")
			}
			return req
		}
		var events []simtest.EventRecord
		rep, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 1200 * time.Millisecond, Pacer: loadgen.Constant(100)},
		}},
			simtest.WithRequests(requests),
			simtest.At(300*time.Millisecond, simtest.Crash("server2")),
			simtest.At(700*time.Millisecond, simtest.Recover("server2")),
			simtest.RecordEvents(&events),
		)
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Overall.Requests).To(BeNumerically(">", 100))

		Expect(simtest.Idempotent(w)).To(simtest.HaveLostNothing())
		Expect(simtest.Idempotent(w)).To(simtest.HaveFailedNothing())
		Expect(w).To(simtest.HaveNoUnsafeDuplicates())
		// Windows start when an event was done, not when it was planned: on a
		// busy machine the timeline may run late.
		crash, recover := events[0], events[1]
		Expect(simtest.Server(w, "server2")).To(simtest.ReceiveNoTrafficBetween(crash.Done, recover.Started))
		Expect(simtest.Server(w, "server2")).NotTo(simtest.ReceiveNoTrafficBetween(recover.Done, 0))
	}, SpecTimeout(30*time.Second))
})

// The link between the proxy and server2 goes silent for a while: requests
// on it get no answer rather than an error. A per-try timeout lets the proxy
// retry GETs elsewhere; a POST is never retried after a timeout, so it can
// never be served twice.
var _ = Describe("a partition between the proxy and a server", Label("reverse", "failover"), func() {
	var w *sim.World

	BeforeEach(func(ctx SpecContext) {
		w = simtest.NewWorld(ctx,
			simtest.WithServers(3),
			simtest.WithLink("to-server2", "proxy", "server2"),
			simtest.WithReverseProxy(reverse.Config{Pools: []reverse.PoolConfig{{
				Name:    "default",
				Retries: reverse.RetryConfig{Attempts: 3, PerTryTimeout: 150 * time.Millisecond, Backoff: 5 * time.Millisecond, Budget: -1},
			}}}),
		)
	})

	It("should retry the GETs elsewhere and never serve a POST twice", func(ctx SpecContext) {
		requests := func(s loadgen.Slot, c *client.Client) client.Request {
			req := client.Request{URL: w.TargetURL(c.Name(), "") + "/"}
			if s.Seq%5 == 4 {
				req.Method, req.Body = http.MethodPost, []byte("order")
			}
			return req
		}
		var events []simtest.EventRecord
		_, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 1200 * time.Millisecond, Pacer: loadgen.Constant(80)},
		}},
			simtest.WithRequests(requests),
			simtest.At(300*time.Millisecond, simtest.Partition("to-server2")),
			simtest.At(700*time.Millisecond, simtest.Heal("to-server2")),
			simtest.RecordEvents(&events),
		)
		Expect(err).NotTo(HaveOccurred())

		Expect(simtest.Idempotent(w)).To(simtest.HaveLostNothing())
		Expect(simtest.Idempotent(w)).To(simtest.HaveFailedNothing())
		Expect(w).To(simtest.HaveNoUnsafeDuplicates())
		heal := events[1]
		Expect(simtest.Server(w, "server2")).NotTo(simtest.ReceiveNoTrafficBetween(heal.Done, 0))
	}, SpecTimeout(30*time.Second))
})
