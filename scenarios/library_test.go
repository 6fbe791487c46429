package scenarios_test

import (
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
)

// shipped returns a table entry for every scenario under dirs, labelled by area.
func shipped(dirs ...string) []TableEntry {
	list, err := scenarios.LoadAll(dirs...)
	if err != nil {
		// Reported by the "should load every shipped scenario" spec.
		return nil
	}
	var out []TableEntry
	for _, sc := range list {
		out = append(out, Entry(sc.Name, Label(sc.Area, "scenario"), sc))
	}
	return out
}

func describeChecks(res *scenarios.Result) string {
	var b strings.Builder
	_ = res.WriteText(&b)
	return b.String()
}

var _ = Describe("The shipped scenarios", func() {
	DescribeTable("should pass",
		func(ctx SpecContext, sc *scenarios.Scenario) {
			res, err := scenarios.Run(ctx, sc, scenarios.Options{})
			Expect(err).NotTo(HaveOccurred())
			if res.Verdict == scenarios.Skipped {
				Skip(res.Reason)
			}
			Expect(res.Verdict).To(Equal(scenarios.Passed), describeChecks(res))
		},
		shipped("demo", "library"),
	)

	DescribeTable("that are meant to fail should be caught, with what was observed",
		func(ctx SpecContext, sc *scenarios.Scenario) {
			res, err := scenarios.Run(ctx, sc, scenarios.Options{})
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Verdict).To(Equal(scenarios.Failed), describeChecks(res))
			Expect(res.Failures()).NotTo(BeEmpty())
			for _, c := range res.Failures() {
				Expect(c.Observed).NotTo(BeEmpty(), "check %q failed without saying what was observed", c.Expr)
			}
		},
		shipped("failing"),
	)

	It("should ship at least 20 library scenarios covering both drawings", func() {
		list, err := scenarios.LoadAll("library")
		Expect(err).NotTo(HaveOccurred())
		areas := map[string]int{}
		for _, sc := range list {
			areas[sc.Area]++
			Expect(strings.TrimSpace(sc.About)).NotTo(BeEmpty(), "%s has no about text", filepath.Base(sc.File))
		}
		Expect(len(list)).To(BeNumerically(">=", 20))
		Expect(areas["forward"]).To(BeNumerically(">=", 5))
		Expect(areas["reverse"]).To(BeNumerically(">=", 10))
	})
})
