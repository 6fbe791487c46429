package simtest_test

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
	"github.com/proxylab/proxylab/sim/simtest"
)

var _ = Describe("header matchers", func() {
	var w *sim.World

	BeforeEach(func(ctx SpecContext) {
		w = simtest.NewWorld(ctx, simtest.WithServers(2), simtest.WithReverseProxy(reverse.Config{}))
		for i := range 4 {
			h := http.Header{}
			if i == 0 {
				h.Set("X-Trace", "abc")
			}
			w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/", Header: h})
		}
	})

	It("should pass on the headers the proxy adds", func() {
		Expect(w).To(simtest.HaveSeenHeader("Via"))
		Expect(w).To(simtest.HaveSeenHeaderOnEvery("via"))
		Expect(w).To(simtest.HaveSeenHeaderValue("X-Forwarded-For", ContainSubstring("127.0.2.")))
		s, _ := w.Server("server1")
		Expect(s).To(simtest.HaveSeenHeaderValue("Via", "1.1 proxylab"))
		Expect(s.Receipts()).NotTo(simtest.HaveSeenHeader("Proxy-Authorization"))
	})

	It("should show the headers that did arrive when one never did", func() {
		msg := InterceptGomegaFailure(func() { Expect(w).To(simtest.HaveSeenHeader("X-Real-Ip")) })
		Expect(msg).To(MatchError(And(
			ContainSubstring("Expected the world's servers to have seen header X-Real-Ip"),
			ContainSubstring("none of 4 requests carried X-Real-Ip; the first carried"),
			ContainSubstring("Via, X-Forwarded-For"),
		)))
	})

	It("should show the values seen when none matched", func() {
		msg := InterceptGomegaFailure(func() { Expect(w).To(simtest.HaveSeenHeaderValue("Via", "1.0 squid")) })
		Expect(msg).To(MatchError(ContainSubstring("none of 4 requests matched; Via was seen with 1.1 proxylab")))
	})

	It("should list the requests that carried a header that must not arrive", func() {
		msg := InterceptGomegaFailure(func() { Expect(w).NotTo(simtest.HaveSeenHeader("X-Trace")) })
		Expect(msg).To(MatchError(And(
			ContainSubstring("Expected the world's servers not to have seen header X-Trace"),
			MatchRegexp(`1 of 4 requests carried X-Trace: cli1-1 at server\d \(X-Trace: abc\)`),
		)))
	})

	It("should list the requests without a header that must be on every one", func() {
		msg := InterceptGomegaFailure(func() { Expect(w).To(simtest.HaveSeenHeaderOnEvery("X-Trace")) })
		Expect(msg).To(MatchError(MatchRegexp(`3 of 4 requests arrived without X-Trace: cli1-2 at server\d`)))
	})

	It("should fail, not pass vacuously, when no request arrived", func() {
		msg := InterceptGomegaFailure(func() { Expect([]server.Receipt{}).To(simtest.HaveSeenHeaderOnEvery("Via")) })
		Expect(msg).To(MatchError(ContainSubstring("no server received any request")))
	})
})
