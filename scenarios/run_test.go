package scenarios_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
)

const tiny = `name: tiny
proxy: {mode: reverse}
servers: [{name: server1..2}]
load: [{phase: steady, duration: 500ms, rate: 40/s}]
events: [{at: 200ms, crash: server2}]
expect: [requests > 0, server("server1").requests > 0, latency.p99 < 1ns]
`

func mustParse(src string) *scenarios.Scenario {
	GinkgoHelper()
	sc, err := scenarios.Parse("inline.yaml", []byte(src))
	Expect(err).NotTo(HaveOccurred())
	return sc
}

var _ = Describe("Run", func() {
	var res *scenarios.Result
	var events bytes.Buffer

	BeforeEach(func(ctx SpecContext) {
		events.Reset()
		var err error
		res, err = scenarios.Run(ctx, mustParse(tiny), scenarios.Options{EventLog: &events, Trace: 1})
		Expect(err).NotTo(HaveOccurred())
	})

	It("should evaluate each expectation and say what it observed", func() {
		Expect(res.Verdict).To(Equal(scenarios.Failed))
		Expect(res.Checks).To(HaveLen(3))
		Expect(res.Checks[0].Pass).To(BeTrue())
		Expect(res.Checks[2].Pass).To(BeFalse())
		Expect(res.Checks[2].Observed).To(MatchRegexp(`^\d`))
		Expect(res.Events).To(HaveLen(1))
		Expect(res.Events[0].What).To(Equal("crash server2"))
		Expect(res.Events[0].Error).To(BeEmpty())
	})

	It("should keep the journey of a traced request from client to server", func() {
		Expect(res.Journeys).To(HaveLen(1))
		j := res.Journeys[0]
		Expect(j.Received).NotTo(BeNil())
		Expect(j.Received.Get("Via")).To(ContainSubstring("proxylab"))
		Expect(j.Sent.Get("Via")).To(BeEmpty())
	})

	It("should write an event log as JSON lines", func() {
		lines := strings.Split(strings.TrimSpace(events.String()), "\n")
		Expect(len(lines)).To(BeNumerically(">=", 3))
		for _, l := range lines {
			var m map[string]any
			Expect(json.Unmarshal([]byte(l), &m)).To(Succeed(), l)
			Expect(m).To(HaveKey("t_s"))
		}
		Expect(events.String()).To(ContainSubstring(`"what":"crash server2"`))
	})

	It("should write JUnit XML with a failure per failed expectation", func() {
		var b bytes.Buffer
		Expect(scenarios.WriteJUnit(&b, []*scenarios.Result{res})).To(Succeed())
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		}
		Expect(xml.Unmarshal(b.Bytes(), &doc)).To(Succeed())
		Expect(doc.Tests).To(Equal(3))
		Expect(doc.Failures).To(Equal(1))
	})

	It("should write a self-contained HTML report with plots and event markers", func() {
		var b bytes.Buffer
		Expect(scenarios.WriteHTML(&b, []*scenarios.Result{res})).To(Succeed())
		Expect(b.String()).To(ContainSubstring("<svg"))
		Expect(b.String()).To(ContainSubstring("crash server2"))
		Expect(b.String()).NotTo(ContainSubstring("<script src="))
	})

	It("should write results as JSON that reads back", func() {
		var b bytes.Buffer
		Expect(scenarios.WriteJSON(&b, []*scenarios.Result{res})).To(Succeed())
		var doc struct {
			Results []scenarios.Result `json:"results"`
		}
		Expect(json.Unmarshal(b.Bytes(), &doc)).To(Succeed())
		Expect(doc.Results[0].Name).To(Equal("tiny"))
		Expect(doc.Results[0].Checks).To(HaveLen(3))
	})
})

var _ = Describe("Run of an unusual world", func() {
	It("should skip a scenario whose external proxy is not installed, saying how to get it", func(ctx SpecContext) {
		sc := mustParse(`name: ext
proxy:
  mode: external
  as: reverse
  program: no-such-proxy
  install: apt-get install no-such-proxy
  command: [no-such-proxy-binary, "{{.ConfigFile}}"]
servers: [{name: server1}]
load: [{phase: p, duration: 100ms, rate: 10/s}]
expect: [requests > 0]
`)
		res, err := scenarios.Run(ctx, sc, scenarios.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Verdict).To(Equal(scenarios.Skipped))
		Expect(res.Reason).To(ContainSubstring("apt-get install no-such-proxy"))
	})

	It("should give the same schedule for the same seed", func(ctx SpecContext) {
		src := `name: seeded
proxy: {mode: reverse}
servers: [{name: server1..3}]
load: [{phase: p, duration: 400ms, rate: poisson 50/s, requests: [{path: /a}, {path: /b}, {path: /c, weight: 2}]}]
expect: [requests > 0]
`
		paths := func() []string {
			res, err := scenarios.Run(ctx, mustParse(src), scenarios.Options{Trace: 8})
			Expect(err).NotTo(HaveOccurred())
			var out []string
			for _, j := range res.Journeys {
				out = append(out, j.Sent.Line)
			}
			return out
		}
		first := paths()
		Expect(first).To(HaveLen(8))
		Expect(paths()).To(Equal(first))
	})
})
