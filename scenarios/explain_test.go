package scenarios_test

import (
	"bytes"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
)

var _ = Describe("Explain", func() {
	var ex *scenarios.Explanation
	var text string

	explain := func(ctx SpecContext, drawing string) {
		GinkgoHelper()
		sc, err := scenarios.ExplainScenario(drawing)
		Expect(err).NotTo(HaveOccurred())
		ex, err = scenarios.Explain(ctx, sc, scenarios.ExplainOptions{Requests: 30})
		Expect(err).NotTo(HaveOccurred())
		var b bytes.Buffer
		Expect(ex.WriteText(&b, scenarios.TextStyle{})).To(Succeed())
		text = stable(b.String())
	}

	When("the drawing is forward", func() {
		BeforeEach(func(ctx SpecContext) { explain(ctx, scenarios.ModeForward) }, NodeTimeout(30e9))

		It("should print the same view on every run", func() {
			expectGolden("forward.golden", text)
		})

		It("should count every request on the clients' edges and at the one server", func() {
			Expect(ex.Topology.Clients).To(Equal([]scenarios.Edge{{Name: "cli1", Requests: 10}, {Name: "cli2", Requests: 10}, {Name: "cli3", Requests: 10}}))
			Expect(ex.Topology.Servers).To(Equal([]scenarios.Edge{{Name: "server1", Requests: 30}}))
		})

		It("should show absolute-form turned into origin-form and the credentials removed", func() {
			hops := ex.Journeys[0].Hops
			Expect(hops[0].Head.Line).To(Equal("GET http://server1/echo HTTP/1.1"))
			Expect(hops[1].Head.Line).To(Equal("GET /echo HTTP/1.1"))
			Expect(hops[1].Head.Get("Proxy-Authorization")).To(BeEmpty())
			Expect(hops[1].Head.Get("Proxy-Connection")).To(BeEmpty())
			Expect(hops[1].Head.Get("Via")).To(Equal("1.1 proxylab"))
		})

		It("should show a CONNECT tunnel whose bytes reach the server untouched", func() {
			hops := ex.Journeys[1].Hops
			Expect(hops[0].Head.Line).To(Equal("CONNECT server1:80 HTTP/1.1"))
			Expect(hops[1].Head.Line).To(HavePrefix("HTTP/1.1 200"))
			Expect(hops[3].Head).To(Equal(hops[2].Head), "the server received exactly what the client wrote in the tunnel")
		})
	})

	When("the drawing is reverse", func() {
		BeforeEach(func(ctx SpecContext) { explain(ctx, scenarios.ModeReverse) }, NodeTimeout(30e9))

		It("should print the same view on every run", func() {
			expectGolden("reverse.golden", text)
		})

		It("should box the servers' side and spread the requests over every server", func() {
			Expect(text).To(ContainSubstring(scenarios.CaptionReverse))
			for _, s := range ex.Topology.Servers {
				Expect(s.Requests).To(Equal(10), s.Name)
			}
		})

		It("should show X-Forwarded-For and Via added and Connection removed", func() {
			got := ex.Journeys[0].Hops[1].Head
			Expect(got.Get("X-Forwarded-For")).To(Equal("127.0.2.1"))
			Expect(got.Get("Via")).To(Equal("1.1 proxylab"))
			Expect(got.Get("Connection")).To(BeEmpty())
			Expect(text).To(ContainSubstring("− Connection: keep-alive"))
		})
	})

	It("should refuse a drawing it does not know, naming the ones it does", func() {
		_, err := scenarios.ExplainScenario("sideways")
		Expect(err).To(MatchError(ContainSubstring("want forward or reverse")))
	})

	It("should explain a played scenario with the counts of its run", func(ctx SpecContext) {
		sc, err := scenarios.Parse("tiny.yaml", []byte(`name: tiny
proxy: {mode: reverse}
servers: [{name: server1..2}]
load: [{phase: p, duration: 300ms, rate: 20/s}]
expect: [ledger.lost == 0]
`))
		Expect(err).NotTo(HaveOccurred())
		ex, err := scenarios.ExplainRun(ctx, sc, scenarios.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(ex.Result).NotTo(BeNil())
		Expect(ex.Journeys).To(HaveLen(1))
		total := 0
		for _, s := range ex.Topology.Servers {
			total += s.Requests
		}
		Expect(total).To(BeNumerically(">", 0))
		Expect(strings.Count(scenarios.DrawTopology(ex.Topology), "──▶ server")).To(Equal(2))
	}, NodeTimeout(30e9))
})
