package server_test

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/server"
)

var _ = Describe("Knob parsers", func() {
	DescribeTable("should reject a bad value with a message naming it and the expected form",
		func(parse func() error, want ...string) {
			err := parse()
			Expect(err).To(HaveOccurred())
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		// The example of the brief: a weight that is not a number.
		Entry("status weight", func() error { _, err := server.ParseStatusMix("200:abc"); return err },
			`status "200:abc": weight "abc" is not a number; want CODE:WEIGHT`, "200:99,503:1"),
		// A code outside the HTTP range must not reach WriteHeader.
		Entry("status code", func() error { _, err := server.ParseStatusMix("99:1"); return err },
			`code "99"`, "want CODE:WEIGHT"),
		// Several parts need a weight each, or the remainder is ambiguous.
		Entry("status part without weight", func() error { _, err := server.ParseStatusMix("200,503:1"); return err },
			`"200" has no weight`),
		Entry("latency duration", func() error { _, err := server.ParseLatency("5 parsecs"); return err },
			`latency "5 parsecs"`, "want DURATION (5ms)"),
		// A reversed range is a typo, not an empty distribution.
		Entry("latency reversed range", func() error { _, err := server.ParseLatency("5ms-1ms"); return err },
			"ends before it starts"),
		// Parenthesised forms contain commas; they must not be split as a mix.
		Entry("latency normal without stddev", func() error { _, err := server.ParseLatency("normal(10ms)"); return err },
			"needs two durations"),
		Entry("latency negative weight", func() error { _, err := server.ParseLatency("5ms:-3"); return err },
			"is negative"),
		Entry("size unit", func() error { _, err := server.ParseSizeMix("1KiX:90"); return err },
			`size "1KiX:90"`, "want SIZE:WEIGHT"),
		Entry("probability above 1", func() error { _, err := server.ParseProbability("stall", "1.5"); return err },
			`stall "1.5" is outside 0..1`),
		Entry("header without colon", func() error { _, _, err := server.ParseHeader("X-Nope"); return err },
			`header "X-Nope"`, "want NAME:VALUE"),
		Entry("unknown knob", func() error { var b server.Behaviour; return b.SetKnob("colour", "red") },
			`unknown knob "colour"`),
	)

	DescribeTable("should read the documented forms",
		func(s string, check func(server.Latency)) {
			l, err := server.ParseLatency(s)
			Expect(err).NotTo(HaveOccurred())
			Expect(l.String()).To(Equal(s))
			check(l)
		},
		// Fixed: every draw is the same.
		Entry("fixed", "5ms", func(l server.Latency) {
			Expect(samples(l, 100)).To(HaveEach(5 * time.Millisecond))
		}),
		// Uniform range: draws stay within the bounds.
		Entry("range", "1ms-5ms", func(l server.Latency) {
			Expect(samples(l, 1000)).To(HaveEach(SatisfyAll(BeNumerically(">=", time.Millisecond), BeNumerically("<=", 5*time.Millisecond))))
		}),
		// The Fortio example: 80% 5ms, 2% 250ms, the remaining 18% no delay.
		Entry("weighted mix with remainder", "5ms:80,250ms:2", func(l server.Latency) {
			s := samples(l, 20000)
			Expect(fraction(s, 0)).To(BeNumerically("~", 0.18, 0.01))
			Expect(fraction(s, 5*time.Millisecond)).To(BeNumerically("~", 0.80, 0.01))
			Expect(fraction(s, 250*time.Millisecond)).To(BeNumerically("~", 0.02, 0.005))
		}),
		// Weights above 100 in total are relative.
		Entry("relative weights", "1ms:100,2ms:300", func(l server.Latency) {
			Expect(fraction(samples(l, 20000), time.Millisecond)).To(BeNumerically("~", 0.25, 0.01))
		}),
		// Normal: the median is the mean; about 68% within one stddev.
		Entry("normal", "normal(10ms,2ms)", func(l server.Latency) {
			s := samples(l, 20000)
			Expect(percentile(s, 50)).To(BeNumerically("~", 10*time.Millisecond, 200*time.Microsecond))
			Expect(percentile(s, 84)).To(BeNumerically("~", 12*time.Millisecond, 300*time.Microsecond))
		}),
		// Log-normal with mean 10ms and stddev 2ms: median 9.81ms, a longer right tail.
		Entry("lognormal", "lognormal(10ms,2ms)", func(l server.Latency) {
			s := samples(l, 20000)
			Expect(percentile(s, 50)).To(BeNumerically("~", 9806*time.Microsecond, 200*time.Microsecond))
			Expect(mean(s)).To(BeNumerically("~", 10*time.Millisecond, 200*time.Microsecond))
		}),
		// A mix may combine distributions whose forms hold commas.
		Entry("mix of distributions", "normal(10ms,1ms):50,1ms-2ms:50", func(l server.Latency) {
			s := samples(l, 20000)
			Expect(percentile(s, 25)).To(BeNumerically("<=", 2*time.Millisecond))
			Expect(percentile(s, 75)).To(BeNumerically(">=", 9*time.Millisecond))
		}),
	)

	It("should read a 90/10 status mix and sizes with units", func() {
		m, err := server.ParseStatusMix("200:90,503:10")
		Expect(err).NotTo(HaveOccurred())
		r := rand.New(rand.NewPCG(1, 2))
		n503 := 0
		for range 10000 {
			if m.Sample(r) == 503 {
				n503++
			}
		}
		Expect(float64(n503) / 10000).To(BeNumerically("~", 0.10, 0.01))

		sz, err := server.ParseSizeMix("1KiB:90,16KiB:10")
		Expect(err).NotTo(HaveOccurred())
		Expect(sz.Sample(rand.New(rand.NewPCG(1, 1)))).To(BeElementOf(int64(1024), int64(16384)))
		Expect(server.ParseSize("2048")).To(Equal(int64(2048)))
		Expect(server.ParseSize("1.5KB")).To(Equal(int64(1500)))
		Expect(server.ParseProbability("close", "5%")).To(Equal(0.05))
	})

	It("should take query parameters over X-Sim-* headers over the server's behaviour", func() {
		base := server.Behaviour{Status: must(server.ParseStatusMix("201"))}
		q := url.Values{"status": {"418"}}
		h := http.Header{"X-Sim-Status": {"202"}, "X-Sim-Chunk-Every": {"5ms"}, "X-Sim-Header": {"A:1", "B:2"}}
		b, err := base.WithRequest(q, h)
		Expect(err).NotTo(HaveOccurred())
		Expect(b.Status.String()).To(Equal("418"))
		Expect(b.ChunkEvery).To(Equal(5 * time.Millisecond))
		Expect(b.Headers.Get("A")).To(Equal("1"))
		Expect(b.Headers.Get("B")).To(Equal("2"))
		Expect(base.Headers).To(BeNil(), "the server's behaviour must not change")
	})
})

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}

func samples(l server.Latency, n int) []time.Duration {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = l.Sample(r)
	}
	return out
}

func fraction(ds []time.Duration, d time.Duration) float64 {
	n := 0
	for _, x := range ds {
		if x == d {
			n++
		}
	}
	return float64(n) / float64(len(ds))
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}
