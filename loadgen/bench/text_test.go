package bench

import (
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
