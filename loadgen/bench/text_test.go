package bench

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("the host note", func() {
	It("should name the repetitions in which the direct baseline ran slow", func() {
		targets := []TargetResult{
			{Name: "direct", Kind: KindDirect, ReqPerSec: NewSpread([]float64{34379, 22810, 23563, 33900, 23100})},
			{Name: "reverse", Kind: KindBuiltin, ReqPerSec: NewSpread([]float64{18000, 15000, 16000, 18500, 15500})},
		}
		Expect(hostNote(targets)).To(Equal("direct: 22810–34379 req/s across repetitions, with no proxy in the way: " +
			"the machine itself was slower in repetition 2, 3, 5 of 5, and so probably every target measured around then; " +
			"compare figures within a repetition (--json lists them) or run again\n"))
	})

	It("should say nothing when the baseline held steady, ran once or was not measured", func() {
		steady := []TargetResult{{Name: "direct", Kind: KindDirect, ReqPerSec: NewSpread([]float64{36784, 35009, 37572})}}
		Expect(hostNote(steady)).To(BeEmpty())
		once := []TargetResult{{Name: "direct", Kind: KindDirect, ReqPerSec: NewSpread([]float64{20000})}}
		Expect(hostNote(once)).To(BeEmpty())
		none := []TargetResult{{Name: "reverse", Kind: KindBuiltin, ReqPerSec: NewSpread([]float64{10000, 30000})}}
		Expect(hostNote(none)).To(BeEmpty())
	})
})

var _ = Describe("the text report", func() {
	It("should give CPU per request at the open-loop rate beside the closed loop's, and compare both", func() {
		sp := func(v ...float64) Spread { return NewSpread(v) }
		res := &Result{
			Setup: Setup{Reps: 2, Rate: 12000},
			Targets: []TargetResult{
				{Name: Direct, Kind: KindDirect, ReqPerSec: sp(30000, 31000), OpenP50: sp(400, 420), OpenP99: sp(900, 950)},
				{Name: Reverse, Kind: KindBuiltin, Mode: Reverse, ReqPerSec: sp(24000, 25000), CPUPerReq: sp(36, 38),
					OpenP50: sp(450, 470), OpenP99: sp(1000, 1100), OpenCPUPerReq: sp(61.5, 62.5)},
				{Name: "nginx", Kind: KindPeer, Mode: Reverse, ReqPerSec: sp(28000, 28000), CPUPerReq: sp(29, 29),
					OpenP50: sp(430, 440), OpenP99: sp(950, 990), OpenCPUPerReq: sp(50, 50)},
			},
		}
		compare(res)
		var b strings.Builder
		Expect(res.WriteText(&b)).To(Succeed())
		Expect(b.String()).To(MatchRegexp(`added p99 µs\s+CPU µs/req`))
		Expect(b.String()).To(MatchRegexp(`reverse\s+460 \(450–470\).*62\.0 \(61\.5–62\.5\)`))
		Expect(b.String()).To(ContainSubstring("reverse vs nginx: CPU per request 1.28× (1.24× at 12000 req/s, open loop), req/s 0.88×"))
	})
})
