package scenarios_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
)

var _ = Describe("Run", func() {
	It("should play the reverse demo and pass", func(ctx SpecContext) {
		sc, err := scenarios.Load("demo/reverse.yaml")
		Expect(err).NotTo(HaveOccurred())
		res, err := scenarios.Run(ctx, sc, scenarios.Options{Trace: 2})
		Expect(err).NotTo(HaveOccurred())
		for _, c := range res.Checks {
			GinkgoWriter.Printf("%v %s observed=%s %s\n", c.Pass, c.Expr, c.Observed, c.Error)
		}
		GinkgoWriter.Printf("%+v\n%+v\n", res.Ledger, res.Events)
		for _, pt := range res.Load.Series {
			GinkgoWriter.Printf("t=%.0f rps=%.0f fail=%d p50=%s p99=%s\n", pt.Offset, pt.RPS, pt.Failures, pt.P50, pt.P99)
		}
		GinkgoWriter.Printf("raw %+v\ncorr %+v\n", res.Load.Overall.Raw, res.Load.Overall.Corrected)
		Expect(res.Verdict).To(Equal(scenarios.Passed), res.Reason)
	})
})
