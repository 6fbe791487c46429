package loadgen_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
)

var _ = Describe("Report", func() {
	var (
		rep    *loadgen.Report
		hdrLog *bytes.Buffer
	)

	BeforeEach(func(ctx SpecContext) {
		hdrLog = &bytes.Buffer{}
		var count atomic.Int64
		d := loadgen.DoerFunc(func(_ context.Context, s loadgen.Slot) loadgen.Result {
			n := count.Add(1)
			switch {
			case n%10 == 0:
				return loadgen.Result{Err: loadgen.ErrReset, Tags: loadgen.Tags{Client: "cli2"}}
			case n%10 == 5:
				return loadgen.Result{Status: 503, Tags: loadgen.Tags{Client: "cli1", Server: "server2"}}
			default:
				return loadgen.Result{Status: 200, Bytes: 10, Tags: loadgen.Tags{Client: "cli1", Server: "server1"}}
			}
		})
		var err error
		rep, err = loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "warmup", Duration: 200 * time.Millisecond, Pacer: loadgen.Constant(100), MaxInFlight: 1},
			{Name: "steady", Duration: 300 * time.Millisecond, Pacer: loadgen.Constant(100), MaxInFlight: 1},
		}}, d, loadgen.WithSeries(100*time.Millisecond), loadgen.WithHDRLog(hdrLog))
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(10*time.Second))

	It("should count outcomes by kind, status class, client and server", func() {
		st, ok := rep.Phase("steady")
		Expect(ok).To(BeTrue())
		// On a starved machine a slot may find every worker busy at the
		// phase's end and stay unsent, but none goes missing.
		Expect(st.Stats.Planned).To(BeEquivalentTo(30))
		Expect(st.Stats.Sent + st.Stats.Unsent).To(BeEquivalentTo(30))
		Expect(st.Stats.Requests).To(BeEquivalentTo(st.Stats.Sent))
		Expect(st.Stats.Requests).To(BeNumerically(">=", 20))
		Expect(st.Stats.Errors).To(HaveKeyWithValue(loadgen.ErrReset, BeNumerically(">=", 1)))
		Expect(st.Stats.Failures).To(Equal(st.Stats.Requests - st.Stats.Successes))
		Expect(st.ByStatus).To(HaveKey("2xx"))
		Expect(st.ByStatus).To(HaveKey("5xx"))
		Expect(st.ByStatus).To(HaveKey("error"))
		Expect(st.ByServer).To(HaveKey("server1"))
		Expect(st.ByServer["server2"].Failures).To(Equal(st.ByServer["server2"].Requests))
		Expect(st.ByClient).To(HaveKey("cli2"))
		Expect(rep.Overall.Planned).To(BeEquivalentTo(50))
		Expect(rep.Overall.Requests).To(BeEquivalentTo(rep.Overall.Sent))
	})

	It("should survive a JSON round trip unchanged", func() {
		var buf bytes.Buffer
		Expect(rep.WriteJSON(&buf)).To(Succeed())
		Expect(buf.String()).To(ContainSubstring(`"schema": "proxylab.loadgen/v1"`))
		Expect(buf.String()).To(ContainSubstring(`"latency_corrected"`))
		Expect(buf.String()).To(ContainSubstring(`"p99_9_ns"`))
		back, err := loadgen.ReadReport(&buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(back.Start.Equal(rep.Start)).To(BeTrue())
		back.Start = rep.Start
		Expect(back).To(Equal(rep))
	})

	It("should refuse JSON of another schema", func() {
		_, err := loadgen.ReadReport(bytes.NewBufferString(`{"schema":"other/v9"}`))
		Expect(err).To(MatchError(ContainSubstring(`schema "other/v9"`)))
	})

	It("should summarise each phase and the whole run in text", func() {
		var buf bytes.Buffer
		Expect(rep.WriteText(&buf)).To(Succeed())
		out := buf.String()
		for _, want := range []string{
			"phase warmup (open loop", "phase steady (open loop", "overall",
			"asked 100.0/s", "corrected", "raw", "p99.9", "reset", "by server", "server2", "by status", "5xx",
		} {
			Expect(out).To(ContainSubstring(want))
		}
	})

	It("should keep a time series with per-server figures", func() {
		Expect(len(rep.Series)).To(BeNumerically(">=", 4))
		var total int64
		for _, p := range rep.Series {
			total += p.Requests
		}
		Expect(total).To(Equal(rep.Overall.Requests))
		Expect(rep.Series[len(rep.Series)-1].Phase).To(Equal("steady"))
		Expect(rep.Series[1].Servers).To(HaveKey("server1"))
	})

	It("should write an HdrHistogram interval log that HdrHistogram reads back", func() {
		r := hdr.NewHistogramLogReader(hdrLog)
		tags := map[string]int64{}
		for {
			h, err := r.NextIntervalHistogram()
			Expect(err).NotTo(HaveOccurred())
			if h == nil {
				break
			}
			tags[h.Tag()] += h.TotalCount()
		}
		Expect(tags).To(HaveKeyWithValue("corrected", rep.Overall.Requests))
		Expect(tags).To(HaveKeyWithValue("raw", rep.Overall.Requests))
	})
})

var _ = Describe("Report figures", func() {
	It("should count every result once in the series, the report and its histograms, with more servers than dense cells", func(ctx SpecContext) {
		// 40 servers × 2 status classes: most cells record packed, the
		// first ones dense, and every series harvest swaps them all.
		const servers = 40
		var count atomic.Int64
		d := loadgen.DoerFunc(func(_ context.Context, s loadgen.Slot) loadgen.Result {
			n := count.Add(1)
			res := loadgen.Result{Status: 200, Tags: loadgen.Tags{Server: fmt.Sprintf("server%d", n%servers)}}
			if n%7 == 0 {
				res = loadgen.Result{Err: loadgen.ErrReset, Tags: res.Tags}
			}
			return res
		})
		rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "steady", Duration: 400 * time.Millisecond, Pacer: loadgen.Constant(2000), MaxInFlight: 8},
		}}, d, loadgen.WithSeries(50*time.Millisecond))
		Expect(err).NotTo(HaveOccurred())

		o := rep.Overall
		Expect(o.Requests).To(BeNumerically(">", servers))
		Expect(o.Corrected.Count).To(Equal(o.Requests), "each result in the histograms once")
		Expect(o.Raw.Count).To(Equal(o.Requests))
		Expect(o.Errors[loadgen.ErrReset]).To(Equal(o.Failures))

		var series int64
		perServer := map[string]int64{}
		for _, p := range rep.Series {
			series += p.Requests
			for name, sp := range p.Servers {
				perServer[name] += sp.Requests
			}
		}
		// A last sliver of an interval is folded into the last point, not
		// dropped: the series holds every result.
		Expect(series).To(Equal(o.Requests))
		st, ok := rep.Phase("steady")
		Expect(ok).To(BeTrue())
		Expect(st.ByServer).To(HaveLen(servers))
		for name, s := range st.ByServer {
			Expect(s.Corrected.Count).To(Equal(s.Requests), name)
			Expect(s.Raw.Count).To(Equal(s.Requests), name)
			Expect(perServer[name]).To(Equal(s.Requests), name)
		}
	}, SpecTimeout(10*time.Second))

	It("should keep in the series the results that finish just after its last point", func(ctx SpecContext) {
		// Every request takes 4 ms, so the ones sent last finish after the
		// phase's end, a sliver after the last point: they join it.
		d := loadgen.DoerFunc(func(ctx context.Context, _ loadgen.Slot) loadgen.Result {
			t := time.NewTimer(4 * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			return loadgen.Result{Status: 200}
		})
		for range 4 {
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Name: "steady", Duration: 200 * time.Millisecond, Pacer: loadgen.Constant(1000), MaxInFlight: 16},
			}}, d, loadgen.WithSeries(100*time.Millisecond))
			Expect(err).NotTo(HaveOccurred())
			var series int64
			for _, p := range rep.Series {
				series += p.Requests
			}
			Expect(series).To(Equal(rep.Overall.Requests))
		}
	}, SpecTimeout(20*time.Second))
})
