package bench

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Spread", func() {
	DescribeTable("NewSpread",
		func(samples []float64, median, lo, hi float64) {
			s := NewSpread(samples)
			Expect(s.Median).To(Equal(median))
			Expect(s.Min).To(Equal(lo))
			Expect(s.Max).To(Equal(hi))
			Expect(s.Samples).To(Equal(samples), "samples stay in the order taken")
		},
		// An odd count has a middle sample.
		Entry("odd count", []float64{3, 1, 2}, 2.0, 1.0, 3.0),
		// An even count averages the two middle samples.
		Entry("even count", []float64{4, 1, 3, 2}, 2.5, 1.0, 4.0),
		// One repetition is its own median and spread.
		Entry("one sample", []float64{7}, 7.0, 7.0, 7.0),
	)

	It("should be unmeasured without samples and print a dash", func() {
		s := NewSpread(nil)
		Expect(s.Measured()).To(BeFalse())
		Expect(s.Format("%.1f")).To(Equal("—"))
	})

	It("should print the median with its range", func() {
		Expect(NewSpread([]float64{10, 12, 11}).Format("%.0f")).To(Equal("11 (10–12)"))
		Expect(NewSpread([]float64{5, 5}).Format("%.0f")).To(Equal("5"))
	})
})

var _ = Describe("compare", func() {
	It("should relate each proxy to direct and to the others of its mode", func() {
		sp := func(v ...float64) Spread { return NewSpread(v) }
		res := &Result{Targets: []TargetResult{
			{Name: Direct, Kind: KindDirect, ReqPerSec: sp(1000), OpenP50: sp(100, 110), OpenP99: sp(300, 320)},
			{Name: Reverse, Kind: KindBuiltin, Mode: Reverse, ReqPerSec: sp(500), CPUPerReq: sp(30), OpenP50: sp(150, 170), OpenP99: sp(500, 420), OpenCPUPerReq: sp(60, 64)},
			{Name: "nginx", Kind: KindPeer, Mode: Reverse, ReqPerSec: sp(800), CPUPerReq: sp(12), OpenCPUPerReq: sp(40)},
			{Name: "squid", Kind: KindPeer, Mode: Forward, ReqPerSec: sp(400), CPUPerReq: sp(40)},
		}}
		compare(res)
		rev := res.Targets[1]
		Expect(rev.VsDirect).To(Equal(0.5))
		Expect(rev.AddedP50.Samples).To(Equal([]float64{50, 60}), "subtracted repetition by repetition")
		Expect(rev.AddedP99.Median).To(Equal(150.0))
		Expect(rev.Vs).To(HaveKey("nginx"))
		Expect(rev.Vs).NotTo(HaveKey("squid"), "a forward proxy is not compared with a reverse one")
		Expect(rev.Vs["nginx"].CPUPerReq).To(Equal(2.5))
		Expect(rev.Vs["nginx"].ReqPerSec).To(Equal(0.625))
		Expect(rev.Vs["nginx"].OpenCPUPerReq).To(Equal(1.55), "median 62 over 40, at the same open-loop rate")
		Expect(res.Targets[2].Vs[Reverse].CPUPerReq).To(Equal(0.4))
	})
})
