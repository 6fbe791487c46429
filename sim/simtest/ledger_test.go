package simtest_test

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/simtest"
)

var _ = Describe("BeServedBy", func() {
	var w *sim.World

	BeforeEach(func(ctx SpecContext) {
		w = simtest.NewWorld(ctx, simtest.WithServers(2), simtest.WithReverseProxy(reverse.Config{}))
	})

	It("should pass for the server that answered", func(ctx SpecContext) {
		out := w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
		Expect(out).To(simtest.BeServedBy(out.Server))
		Expect(&out).NotTo(simtest.BeServedBy("server9"))
	})

	It("should say which server answered when another was expected", func(ctx SpecContext) {
		out := w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
		msg := InterceptGomegaFailure(func() { Expect(out).To(simtest.BeServedBy("server9")) })
		Expect(msg).To(MatchError(And(
			ContainSubstring("Expected response "+out.ID+" to be served by server9"),
			ContainSubstring("was answered 200 by "+out.Server),
		)))
	})

	It("should say that the proxy answered itself when every server is down", func(ctx SpecContext) {
		Expect(w.Crash("server1")).To(Succeed())
		Expect(w.Crash("server2")).To(Succeed())
		out := w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
		msg := InterceptGomegaFailure(func() { Expect(out).To(simtest.BeServedBy("server1")) })
		Expect(msg).To(MatchError(ContainSubstring("answered 502 by no simulated server")))
	})

	It("should say why there was no response at all", func(ctx SpecContext) {
		direct := simtest.NewWorld(ctx, simtest.WithServers(1))
		Expect(direct.Crash("server1")).To(Succeed())
		out := direct.Do(ctx, "cli1", client.Request{URL: direct.TargetURL("cli1", "server1") + "/"})
		msg := InterceptGomegaFailure(func() { Expect(out).To(simtest.BeServedBy("server1")) })
		Expect(msg).To(MatchError(ContainSubstring("no response to GET http://127.0.1.")))
		Expect(msg).To(MatchError(ContainSubstring(": refused (")))
	})

	It("should refuse what is not an outcome", func() {
		_, err := simtest.BeServedBy("server1").Match("server1")
		Expect(err).To(MatchError("BeServedBy expects a client.Outcome, got string"))
	})
})

var _ = Describe("ledger matchers", func() {
	When("a server the clients talk to directly has crashed", func() {
		var w *sim.World

		BeforeEach(func(ctx SpecContext) {
			w = simtest.NewWorld(ctx, simtest.WithServers(2))
			Expect(w.Crash("server2")).To(Succeed())
			for _, srv := range []string{"server1", "server2", "server1", "server2"} {
				w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", srv) + "/"})
			}
		})

		It("should list the lost ids with their error kinds", func() {
			msg := InterceptGomegaFailure(func() { Expect(w).To(simtest.HaveLostNothing()) })
			Expect(msg).To(MatchError(And(
				ContainSubstring("Expected the world's ledger to have lost no request"),
				ContainSubstring("2 of 4 requests lost (refused 2): cli1-2 GET refused after"),
				ContainSubstring("cli1-4 GET refused after"),
				ContainSubstring("reached no server"),
			)))
		})

		It("should count a 5xx answer as a failure but not as a loss", func(ctx SpecContext) {
			Expect(w.Recover("server2")).To(Succeed())
			out := w.Do(ctx, "cli2", client.Request{URL: w.TargetURL("cli2", "server2") + "/?status=503"})
			Expect(out.Status).To(Equal(http.StatusServiceUnavailable))
			Expect(simtest.Idempotent(w)).To(HaveLen(5))
			msg := InterceptGomegaFailure(func() { Expect(w.Ledger()).To(simtest.HaveFailedNothing()) })
			Expect(msg).To(MatchError(And(
				ContainSubstring("3 of 5 requests failed (refused 2, status 503 1)"),
				ContainSubstring("cli2-1 GET 503 from server2, reached server2"),
			)))
		})

		It("should pass on the entries that were not lost", func() {
			var kept []sim.Entry
			for _, e := range w.Ledger().Entries() {
				if !e.Lost() {
					kept = append(kept, e)
				}
			}
			Expect(kept).To(simtest.HaveLostNothing())
		})
	})

	When("a proxy sends every request to two servers", func() {
		var w *sim.World

		BeforeEach(func(ctx SpecContext) {
			w = simtest.NewWorld(ctx, simtest.WithServers(2), simtest.WithProxy(&duplicatingProxy{}))
			w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
			w.Do(ctx, "cli2", client.Request{Method: http.MethodPost, URL: w.TargetURL("cli2", "") + "/", Body: []byte("order")})
			w.Do(ctx, "cli3", client.Request{Method: http.MethodPost, URL: w.TargetURL("cli3", "") + "/",
				Header: http.Header{"Idempotency-Key": {"k1"}}})
		})

		It("should list every request served twice with the servers that got it", func() {
			msg := InterceptGomegaFailure(func() { Expect(w).To(simtest.HaveNoDuplicates()) })
			Expect(msg).To(MatchError(And(
				ContainSubstring("3 of 3 requests served more than once"),
				ContainSubstring("cli1-1 GET 200 from server2, reached server1+server2"),
			)))
		})

		It("should single out the POST without an Idempotency-Key", func() {
			msg := InterceptGomegaFailure(func() { Expect(w).To(simtest.HaveNoUnsafeDuplicates()) })
			Expect(msg).To(MatchError(And(
				ContainSubstring("1 of 3 requests unsafe and served more than once (status 200 1): cli2-1 POST"),
				Not(ContainSubstring("cli3-1")),
			)))
		})

		It("should leave the unsafe request out of Idempotent", func() {
			ids := []string{}
			for _, e := range simtest.Idempotent(w) {
				ids = append(ids, e.ID)
			}
			Expect(ids).To(ConsistOf("cli1-1", "cli3-1"))
		})
	})

	It("should list no more than MaxListed ids", func(ctx SpecContext) {
		w := simtest.NewWorld(ctx, simtest.WithServers(1))
		Expect(w.Crash("server1")).To(Succeed())
		for range simtest.MaxListed + 3 {
			w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "server1") + "/"})
		}
		msg := InterceptGomegaFailure(func() { Expect(w).To(simtest.HaveLostNothing()) })
		Expect(msg).To(MatchError(ContainSubstring("… and 3 more")))
	})

	It("should refuse what holds no ledger", func() {
		_, err := simtest.HaveLostNothing().Match(42)
		Expect(err).To(MatchError("HaveLostNothing expects a *sim.World, a *sim.Ledger or []sim.Entry, got int"))
	})
})

var _ = Describe("ReceiveNoTrafficBetween", func() {
	It("should list the requests that arrived in the window with their offsets", func(ctx SpecContext) {
		w := simtest.NewWorld(ctx, simtest.WithServers(2))
		w.Ledger().SetStart(time.Now())
		for range 3 {
			w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "server1") + "/"})
		}
		Expect(simtest.Server(w, "server2")).To(simtest.ReceiveNoTrafficBetween(0, 0))
		msg := InterceptGomegaFailure(func() {
			Expect(simtest.ServerIn(w.Ledger(), "server1")).To(simtest.ReceiveNoTrafficBetween(0, time.Minute))
		})
		Expect(msg).To(MatchError(And(
			ContainSubstring("Expected server1 to receive no traffic within [0s, 1m0s)"),
			ContainSubstring("server1 received 3 requests within [0s, 1m0s) (of 3 in all): cli1-1 at "),
		)))
		msg = InterceptGomegaFailure(func() {
			Expect(simtest.Server(w, "server2")).NotTo(simtest.ReceiveNoTrafficBetween(0, 0))
		})
		Expect(msg).To(MatchError(ContainSubstring("server2 received none of its 0 requests within [0s, now)")))
	})

	It("should refuse a bare server name", func() {
		_, err := simtest.ReceiveNoTrafficBetween(0, 0).Match("server1")
		Expect(err).To(MatchError(ContainSubstring("expects a simtest.ServerTraffic")))
	})
})
