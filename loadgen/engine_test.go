package loadgen_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
)

// okDoer answers at once with 200.
func okDoer() loadgen.Doer {
	return loadgen.DoerFunc(func(_ context.Context, _ loadgen.Slot) loadgen.Result {
		return loadgen.Result{Status: 200, Bytes: 2}
	})
}

// sleepDoer answers 200 after d, or canceled when ctx ends first.
func sleepDoer(d time.Duration) loadgen.Doer {
	return loadgen.DoerFunc(func(ctx context.Context, _ loadgen.Slot) loadgen.Result {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return loadgen.Result{Status: 200}
		case <-ctx.Done():
			return loadgen.Result{Err: loadgen.ErrCanceled}
		}
	})
}

var _ = Describe("Run", func() {
	When("an open-loop phase paces a constant rate against an instant doer", func() {
		It("should send every planned slot", func(ctx SpecContext) {
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Name: "steady", Duration: 500 * time.Millisecond, Pacer: loadgen.Constant(200)},
			}}, okDoer())
			Expect(err).NotTo(HaveOccurred())
			ph, ok := rep.Phase("steady")
			Expect(ok).To(BeTrue())
			Expect(ph.Mode).To(Equal("open"))
			Expect(ph.Stats.Planned).To(BeEquivalentTo(100))
			Expect(ph.Stats.Sent).To(BeEquivalentTo(100))
			Expect(ph.Stats.Requests).To(BeEquivalentTo(100))
			Expect(ph.Stats.Successes).To(BeEquivalentTo(100))
			Expect(ph.Stats.Unsent).To(BeZero())
			Expect(ph.Stats.AskedRate).To(BeNumerically("~", 200, 0.001))
			Expect(ph.Stats.Bytes).To(BeEquivalentTo(200))
			Expect(rep.Overall.Requests).To(BeEquivalentTo(100))
		}, SpecTimeout(10*time.Second))
	})

	When("asked for 2,000/s over 5s", func() {
		// An in-process doer that answers at once isolates the pacing from any
		// server: every one of the 10,000 planned slots must go out within the
		// phase. 1% (100 slots, 50 ms of lag at the very end) absorbs a busy
		// machine; a pacer that drifts, rounds gaps or drops slots misses it.
		It("should achieve the rate within 1%", func(ctx SpecContext) {
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Duration: 5 * time.Second, Pacer: loadgen.Constant(2000)},
			}}, okDoer(), loadgen.WithSeries(500*time.Millisecond))
			Expect(err).NotTo(HaveOccurred())
			st := rep.Phases[0].Stats
			Expect(st.Planned).To(BeEquivalentTo(10000))
			Expect(st.AskedRate).To(BeNumerically("~", 2000, 0.01))
			Expect(st.Rate).To(BeNumerically("~", 2000, 20))
			Expect(st.Requests).To(BeEquivalentTo(st.Sent))
			Expect(len(rep.Series)).To(BeNumerically(">=", 9))
		}, SpecTimeout(30*time.Second))
	})

	When("the target is slower than the asked rate allows", func() {
		It("should count late and unsent slots and never skip one silently", func(ctx SpecContext) {
			// 2 in flight × 50 ms each = 40/s at most, asked 200/s.
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Duration: 500 * time.Millisecond, Pacer: loadgen.Constant(200), MaxInFlight: 2},
			}}, sleepDoer(50*time.Millisecond))
			Expect(err).NotTo(HaveOccurred())
			st := rep.Phases[0].Stats
			Expect(st.Planned).To(BeEquivalentTo(100))
			Expect(st.Planned).To(Equal(st.Sent + st.Unsent))
			Expect(st.Late).To(BeNumerically(">", 0))
			Expect(st.Unsent).To(BeNumerically(">", 50))
			Expect(st.Missed()).To(Equal(st.Late + st.Unsent))
			Expect(st.Requests).To(BeEquivalentTo(st.Sent))
			// The queueing shows in corrected latency only.
			Expect(st.Corrected.Max).To(BeNumerically(">", 150*time.Millisecond))
			Expect(st.Raw.P50).To(BeNumerically("<", 150*time.Millisecond))
		}, SpecTimeout(10*time.Second))
	})

	When("a server stalls for 500ms once", func() {
		var url string
		BeforeEach(func() {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 20 {
					select {
					case <-time.After(500 * time.Millisecond):
					case <-r.Context().Done():
					}
				}
				_, _ = w.Write([]byte("ok"))
			}))
			DeferCleanup(srv.Close)
			url = srv.URL
		})

		// One request in flight at a time, so everything due during the stall
		// queues behind it, as behind a stalled connection. The honest figure is
		// the corrected one: those requests waited. Raw latency only sees the
		// one slow request.
		It("should show the stall in corrected latency and not in raw latency", func(ctx SpecContext) {
			d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: url, Timeout: 5 * time.Second})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(d.Close)
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Duration: 1500 * time.Millisecond, Pacer: loadgen.Constant(100), MaxInFlight: 1},
			}}, d)
			Expect(err).NotTo(HaveOccurred())
			st := rep.Phases[0].Stats
			Expect(st.Failures).To(BeZero())
			Expect(st.Late).To(BeNumerically(">=", 30))
			Expect(st.Corrected.P90).To(BeNumerically(">", 150*time.Millisecond))
			Expect(st.Corrected.P99).To(BeNumerically(">", 350*time.Millisecond))
			Expect(st.Raw.P90).To(BeNumerically("<", 100*time.Millisecond))
			Expect(st.Raw.Max).To(BeNumerically(">=", 450*time.Millisecond))
		}, SpecTimeout(15*time.Second))
	})

	When("a closed-loop phase has two connections", func() {
		It("should send back to back until the phase ends", func(ctx SpecContext) {
			var n atomic.Int64
			var mu sync.Mutex
			workers := map[int]bool{}
			d := loadgen.DoerFunc(func(ctx context.Context, s loadgen.Slot) loadgen.Result {
				n.Add(1)
				mu.Lock()
				workers[s.Worker] = true
				mu.Unlock()
				return sleepDoer(time.Millisecond).Do(ctx, s)
			})
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Duration: 200 * time.Millisecond, Connections: 2},
			}}, d)
			Expect(err).NotTo(HaveOccurred())
			Expect(rep.Phases[0].Name).To(Equal("phase1"))
			Expect(rep.Phases[0].Mode).To(Equal("closed"))
			Expect(rep.Phases[0].Connections).To(Equal(2))
			Expect(rep.Overall.Requests).To(Equal(n.Load()))
			Expect(n.Load()).To(BeNumerically(">", 20))
			Expect(workers).To(HaveLen(2))
			// No schedule: corrected latency is raw latency.
			Expect(rep.Overall.Corrected.P50).To(BeNumerically("~", rep.Overall.Raw.P50, 100*time.Microsecond))
		}, SpecTimeout(10*time.Second))

		It("should pause for the think time between requests", func(ctx SpecContext) {
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Duration: 300 * time.Millisecond, Connections: 1, Think: 50 * time.Millisecond},
			}}, okDoer())
			Expect(err).NotTo(HaveOccurred())
			Expect(rep.Overall.Requests).To(BeNumerically("<=", 7))
			Expect(rep.Overall.Requests).To(BeNumerically(">=", 2))
		}, SpecTimeout(10*time.Second))
	})

	When("a plan has several phases", func() {
		It("should run them back to back and keep their figures apart", func(ctx SpecContext) {
			var mu sync.Mutex
			var events []string
			progress := loadgen.ProgressFuncs{
				OnPhaseStarted: func(name string, _ time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					events = append(events, "start "+name)
				},
				OnPhaseDone: func(name string, _ loadgen.Stats) {
					mu.Lock()
					defer mu.Unlock()
					events = append(events, "done "+name)
				},
			}
			phases := map[string]*atomic.Int64{"a": {}, "b": {}}
			d := loadgen.DoerFunc(func(_ context.Context, s loadgen.Slot) loadgen.Result {
				phases[s.Phase].Add(1)
				return loadgen.Result{Status: 200, Tags: loadgen.Tags{Client: "cli1", Server: "server" + s.Phase}}
			})
			start := time.Now()
			rep, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
				{Name: "a", Duration: 300 * time.Millisecond, Pacer: loadgen.Constant(100)},
				{Name: "b", Duration: 300 * time.Millisecond, Connections: 1, Think: 10 * time.Millisecond},
			}}, d, loadgen.WithProgress(progress), loadgen.WithSeries(100*time.Millisecond))
			Expect(err).NotTo(HaveOccurred())
			Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second))
			a, _ := rep.Phase("a")
			b, _ := rep.Phase("b")
			Expect(a.Stats.Requests).To(Equal(phases["a"].Load()))
			Expect(b.Stats.Requests).To(Equal(phases["b"].Load()))
			Expect(a.Stats.Planned).To(BeEquivalentTo(30))
			Expect(b.Offset).To(BeNumerically("~", 0.3, 1e-9))
			Expect(a.ByServer).To(HaveKey("servera"))
			Expect(a.ByServer).NotTo(HaveKey("serverb"))
			Expect(b.ByClient).To(HaveKey("cli1"))
			Expect(b.ByStatus).To(HaveKey("2xx"))
			Expect(rep.Overall.Requests).To(Equal(a.Stats.Requests + b.Stats.Requests))
			mu.Lock()
			defer mu.Unlock()
			Expect(events).To(Equal([]string{"start a", "done a", "start b", "done b"}))
			Expect(rep.Series).NotTo(BeEmpty())
			Expect(rep.Series[0].Servers).To(HaveKey("servera"))
		}, SpecTimeout(10*time.Second))
	})

	When("ctx ends before the plan does", func() {
		It("should return a partial report with ctx's error and cancel in-flight requests after the grace", func(ctx SpecContext) {
			runCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			DeferCleanup(cancel)
			start := time.Now()
			rep, err := loadgen.Run(runCtx, loadgen.Plan{Phases: []loadgen.Phase{
				{Duration: time.Minute, Pacer: loadgen.Constant(50)},
			}}, sleepDoer(time.Hour), loadgen.WithGrace(100*time.Millisecond))
			Expect(err).To(MatchError(context.DeadlineExceeded))
			Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
			st := rep.Phases[0].Stats
			Expect(st.Planned).To(BeNumerically("<", 50))
			// Rates are over the time actually run, not the minute planned.
			Expect(st.Duration).To(BeNumerically("~", 200*time.Millisecond, 150*time.Millisecond))
			Expect(st.AskedRate).To(BeNumerically("~", 50, 15))
			Expect(st.Errors).To(HaveKey(loadgen.ErrCanceled))
			Expect(st.Requests).To(BeEquivalentTo(st.Sent))
		}, SpecTimeout(10*time.Second))
	})

	It("should reject an invalid plan naming every problem", func(ctx SpecContext) {
		_, err := loadgen.Run(ctx, loadgen.Plan{Phases: []loadgen.Phase{
			{Name: "x", Duration: 0, Pacer: loadgen.Constant(1)},
			{Name: "x", Duration: time.Second},
		}}, okDoer())
		Expect(err).To(MatchError(ContainSubstring("duration 0s must be positive")))
		Expect(err).To(MatchError(ContainSubstring("name already used")))
		Expect(err).To(MatchError(ContainSubstring("closed loop needs connections")))
	})
})
