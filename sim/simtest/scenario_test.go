package simtest_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
	"github.com/proxylab/proxylab/sim/simtest"
)

// The helpers used the way a user's suite uses them.
var _ = simtest.DescribeScenarios("testdata/scenarios")

var _ = DescribeTable("scenario files as table entries", simtest.RunCase,
	simtest.ScenarioEntries("testdata/scenarios/round-robin.yaml"))

var _ = Describe("scenario helpers", func() {
	It("should make a case per file, carrying the load problem of a broken one", func() {
		cases := simtest.LoadCases([]string{"testdata/broken", "testdata/scenarios", "testdata/nowhere"})
		Expect(cases).To(HaveLen(3))
		Expect(cases[0].Err).To(MatchError(ContainSubstring("laod")))
		Expect(cases[1].Err).NotTo(HaveOccurred())
		Expect(cases[1].Scenario.Area).To(Equal("reverse"))
		Expect(cases[2].Err).To(MatchError(ContainSubstring("scenarios at testdata/nowhere")))
	})

	It("should make a failing case of a directory that holds no scenario", func() {
		dir := GinkgoT().TempDir()
		cases := simtest.LoadCases([]string{dir})
		Expect(cases).To(HaveLen(1))
		Expect(cases[0].Err).To(MatchError(ContainSubstring("no scenario files (*.yaml, *.yml) there")))
	})

	It("should list every failing check with what was observed", func(ctx SpecContext) {
		sc, err := scenarios.Parse("strict.yaml", []byte(`name: strict
proxy: {mode: reverse}
servers: [{name: server1}]
clients: {count: 1}
load: [{phase: p, duration: 200ms, rate: 20/s}]
expect:
  - ledger.lost == 0
  - ledger.sent == 0
`))
		Expect(err).NotTo(HaveOccurred())
		res, err := scenarios.Run(ctx, sc, scenarios.Options{})
		Expect(err).NotTo(HaveOccurred())
		msg := InterceptGomegaFailure(func() { Expect(res).To(simtest.HavePassed()) })
		Expect(msg).To(MatchError(And(
			ContainSubstring("Expected scenario strict (strict.yaml, seed 0) to have passed"),
			ContainSubstring("verdict failed"),
			ContainSubstring("✓ ledger.lost == 0"),
			MatchRegexp(`✗ ledger.sent == 0  \(observed \d+\)`),
			ContainSubstring("ledger: sent"),
		)))
	})

	It("should give the reason of a scenario that could not be played", func(ctx SpecContext) {
		sc, err := scenarios.Parse("ext.yaml", []byte(`name: ext
proxy:
  mode: external
  as: reverse
  program: no-such-proxy
  install: apt-get install no-such-proxy
  command: [no-such-proxy-binary, "{{.ConfigFile}}"]
servers: [{name: server1}]
clients: {count: 1}
load: [{phase: p, duration: 100ms, rate: 10/s}]
expect: [ledger.lost == 0]
`))
		Expect(err).NotTo(HaveOccurred())
		res, err := scenarios.Run(ctx, sc, scenarios.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Verdict).To(Equal(scenarios.Skipped))
		msg := InterceptGomegaFailure(func() { Expect(res).To(simtest.HavePassed()) })
		Expect(msg).To(MatchError(ContainSubstring("verdict skipped: no-such-proxy is not installed (apt-get install no-such-proxy)")))
	})
})
