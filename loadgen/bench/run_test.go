package bench

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Run", func() {
	var cfg Config

	BeforeEach(func() {
		cfg = Config{
			Duration:    200 * time.Millisecond,
			Warmup:      100 * time.Millisecond,
			Reps:        2,
			Connections: 4,
			IdleConns:   50,
			NoPin:       true, // never pin the test process
			Proxylab:    proxylabBin,
		}
	})

	// One run is shared by the specs below (Ordered only for BeforeAll): a
	// run starts two child processes and takes seconds.
	When("it measures the built-in proxies briefly", Ordered, func() {
		var res *Result

		BeforeAll(func(ctx SpecContext) {
			var err error
			res, err = Run(ctx, Config{
				Duration:      200 * time.Millisecond,
				Warmup:        100 * time.Millisecond,
				Reps:          2,
				Connections:   4,
				IdleConns:     50,
				TunnelStreams: 2,
				NoPin:         true, // never pin the test process
				Proxylab:      proxylabBin,
			})
			Expect(err).NotTo(HaveOccurred())
		}, NodeTimeout(60*time.Second))

		It("should measure direct, reverse and forward in that order", func() {
			Expect(res.Schema).To(Equal(Schema))
			var names []string
			for _, t := range res.Targets {
				names = append(names, t.Name)
			}
			Expect(names).To(Equal([]string{Direct, Reverse, Forward}))
			Expect(res.Setup.Reps).To(Equal(2))
			Expect(res.Setup.Streams).To(Equal(2))
			Expect(res.Setup.Rate).To(BeNumerically(">", 0), "the open-loop rate comes from the slowest target")
			Expect(res.Env.Cores).To(BeNumerically(">", 0))
			Expect(res.Env.Pinned).To(BeFalse())
		})

		It("should give every target throughput and latency with one sample per repetition", func() {
			for _, t := range res.Targets {
				Expect(t.ReqPerSec.Samples).To(HaveLen(2), t.Name)
				Expect(t.ReqPerSec.Median).To(BeNumerically(">", 0), t.Name)
				Expect(t.ReqPerSec.Min).To(BeNumerically("<=", t.ReqPerSec.Median), t.Name)
				Expect(t.ReqPerSec.Max).To(BeNumerically(">=", t.ReqPerSec.Median), t.Name)
				Expect(t.P50.Median).To(BeNumerically(">", 0), t.Name)
				Expect(t.P99.Median).To(BeNumerically(">=", t.P50.Median), t.Name)
				Expect(t.OpenP50.Samples).To(HaveLen(2), t.Name)
				Expect(t.OpenP99.Median).To(BeNumerically(">=", t.OpenP50.Median), t.Name)
				Expect(t.Requests).To(BeNumerically(">", 0), t.Name)
				Expect(t.LoadCPU.Median).To(BeNumerically(">", 0), t.Name)
				Expect(t.LoadWakeups.Measured()).To(BeFalse(), "%s: unpinned, no core is the load core", t.Name)
				Expect(t.Errors).To(BeZero(), t.Name)
			}
		})

		It("should read the built-in proxies' CPU per request and memory from /proc", func() {
			for _, name := range []string{Reverse, Forward} {
				t, ok := res.Target(name)
				Expect(ok).To(BeTrue())
				Expect(t.Kind).To(Equal(KindBuiltin))
				Expect(t.PID).To(BeNumerically(">", 0))
				Expect(t.CPUPerReq.Samples).To(HaveLen(2), name)
				Expect(t.CPUPerReq.Median).To(BeNumerically(">", 0), name)
				Expect(t.PeakRSS).To(BeNumerically(">", 1<<20), name)
				Expect(t.Idle).NotTo(BeNil(), name)
				Expect(t.Idle.Opened).To(Equal(50), name)
				Expect(t.Idle.Held).To(Equal(50), "the built-in proxies keep idle connections open")
				Expect(t.Idle.RSSAfter).To(BeNumerically(">", 0), name)
				Expect(t.VsDirect).To(BeNumerically(">", 0), name)
				Expect(t.AddedP50.Samples).To(HaveLen(2), name)
				Expect(t.OpenCPUPerReq.Samples).To(HaveLen(2), "%s: CPU read around every open-loop repetition", name)
			}
			direct, _ := res.Target(Direct)
			Expect(direct.PID).To(BeZero())
			Expect(direct.CPUPerReq.Measured()).To(BeFalse())
			Expect(direct.OpenCPUPerReq.Measured()).To(BeFalse())
			Expect(direct.Idle).To(BeNil())
		})

		It("should measure CONNECT throughput through the forward proxy against plain TCP", func() {
			direct, _ := res.Target(Direct)
			Expect(direct.Tunnel).NotTo(BeNil())
			Expect(direct.Tunnel.MBps.Median).To(BeNumerically(">", 0))
			fwd, _ := res.Target(Forward)
			Expect(fwd.Tunnel).NotTo(BeNil())
			Expect(fwd.Tunnel.MBps.Median).To(BeNumerically(">", 0))
			Expect(fwd.Tunnel.VsDirect).To(BeNumerically(">", 0))
			Expect(fwd.Tunnel.CPUPerGB.Median).To(BeNumerically(">", 0))
			rev, _ := res.Target(Reverse)
			Expect(rev.Tunnel).To(BeNil(), "a reverse proxy has no CONNECT")
		})

		It("should stop the proxies it started", func() {
			for _, name := range []string{Reverse, Forward} {
				t, _ := res.Target(name)
				Eventually(func() error { return syscall.Kill(t.PID, 0) }).Should(MatchError(syscall.ESRCH), name)
			}
		})

		It("should write text, JSON that reads back, and HTML with charts", func() {
			var text bytes.Buffer
			Expect(res.WriteText(&text)).To(Succeed())
			Expect(text.String()).To(ContainSubstring("CPU µs/req"))
			Expect(text.String()).To(ContainSubstring("CONNECT tunnel"))
			Expect(text.String()).To(ContainSubstring("idle keep-alive"))
			var js bytes.Buffer
			Expect(res.WriteJSON(&js)).To(Succeed())
			back, err := ReadResult(&js)
			Expect(err).NotTo(HaveOccurred())
			Expect(back.Targets).To(HaveLen(3))
			Expect(back.Targets[1].CPUPerReq).To(Equal(res.Targets[1].CPUPerReq))
			var bf bytes.Buffer
			Expect(res.WriteBenchfmt(&bf)).To(Succeed())
			Expect(bf.String()).To(MatchRegexp(`(?m)^BenchmarkProxy/target=reverse 1 [0-9.e+]+ cpu-µs/req [0-9.e+]+ req/s `))
			Expect(strings.Count(bf.String(), "BenchmarkProxy/")).To(Equal(3*2), "one line per target and repetition")
			var html bytes.Buffer
			Expect(res.WriteHTML(&html)).To(Succeed())
			Expect(html.String()).To(ContainSubstring("<svg"))
			Expect(html.String()).To(ContainSubstring("Proxy CPU per request"))
		})
	})

	When("a peer is not installed", func() {
		It("should skip it and say how to install it", func(ctx SpecContext) {
			cfg.Builtins, cfg.Peers, cfg.IdleConns, cfg.NoTunnel, cfg.Rate = []string{}, []string{"squid"}, 0, true, -1
			missing := func(name string) (string, error) { return "", exec.ErrNotFound }
			var log bytes.Buffer
			res, err := Run(ctx, cfg, WithLookPath(missing), WithLog(&log))
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Skipped).To(ConsistOf(SkippedTarget{Name: "squid", Reason: "squid is not installed; install it with `apt-get install squid`"}))
			Expect(res.Targets).To(HaveLen(1))
			Expect(log.String()).To(ContainSubstring("apt-get install squid"))
			Expect(res.Setup.Rate).To(BeZero(), "a negative Rate skips the open loop")
			var text bytes.Buffer
			Expect(res.WriteText(&text)).To(Succeed())
			Expect(text.String()).To(ContainSubstring("skipped squid: squid is not installed"))
		}, SpecTimeout(30*time.Second))
	})

	When("peers are installed", func() {
		It("should start each one from its template, measure it and stop it", func(ctx SpecContext) {
			var installed []string
			for _, name := range Peers() {
				if p, _ := LookupPeer(name); func() bool { _, err := exec.LookPath(p.Program); return err == nil }() {
					installed = append(installed, name)
				}
			}
			if len(installed) == 0 {
				Skip("no peer installed (apt-get install nginx-light haproxy caddy squid tinyproxy)")
			}
			cfg.Builtins, cfg.Peers, cfg.IdleConns, cfg.Rate, cfg.Reps = []string{}, installed, 0, -1, 1
			res, err := Run(ctx, cfg)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Skipped).To(BeEmpty())
			for _, name := range installed {
				t, ok := res.Target(name)
				Expect(ok).To(BeTrue(), name)
				Expect(t.Kind).To(Equal(KindPeer))
				Expect(t.Errors).To(BeZero(), name)
				Expect(t.ReqPerSec.Median).To(BeNumerically(">", 0), name)
				Expect(t.PID).To(BeNumerically(">", 0), "%s: found by its listening port", name)
				Expect(t.CPUPerReq.Median).To(BeNumerically(">", 0), name)
				if t.Mode == Forward {
					Expect(t.Tunnel).NotTo(BeNil(), name)
					Expect(t.Tunnel.MBps.Median).To(BeNumerically(">", 0), name)
				}
				Eventually(func() error { return syscall.Kill(t.PID, 0) }).Should(MatchError(syscall.ESRCH), name)
			}
		}, SpecTimeout(60*time.Second))
	})

	When("the nginx backend is asked for and nginx is not installed", func() {
		It("should say how to install it", func(ctx SpecContext) {
			cfg.Backend = BackendNginx
			missing := func(string) (string, error) { return "", exec.ErrNotFound }
			_, err := Run(ctx, cfg, WithLookPath(missing))
			Expect(err).To(MatchError(ContainSubstring("apt-get install nginx-light")))
		}, SpecTimeout(30*time.Second))
	})

	When("the proxylab binary is missing", func() {
		It("should fail with a message saying how to get it", func(ctx SpecContext) {
			cfg.Proxylab = "/nonexistent/proxylab"
			_, err := Run(ctx, cfg)
			Expect(errors.Is(err, errNoProxylab)).To(BeTrue(), "%v", err)
		}, SpecTimeout(30*time.Second))
	})

	When("the context is cancelled", func() {
		It("should stop early and return the context's error", func(ctx SpecContext) {
			cfg.Duration, cfg.Reps = 5*time.Second, 3
			cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := Run(cctx, cfg)
			Expect(err).To(HaveOccurred())
			Expect(time.Since(start)).To(BeNumerically("<", 15*time.Second))
		}, SpecTimeout(30*time.Second))
	})

	It("should refuse a bad configuration before starting anything", func(ctx SpecContext) {
		_, err := Run(ctx, Config{Peers: []string{"varnish"}})
		Expect(err).To(MatchError(ContainSubstring(`peer "varnish": want one of nginx, haproxy, caddy, squid, tinyproxy`)))
		Expect(strings.HasPrefix(err.Error(), "bench: ")).To(BeTrue())
	})
})

var _ = Describe("Stopping what a run started", func() {
	It("should give every stop its time even when one is slow, and undo the pinning last", func() {
		var (
			mu    sync.Mutex
			order []string
		)
		note := func(name string, ctx context.Context) {
			mu.Lock()
			defer mu.Unlock()
			if ctx.Err() != nil {
				name += " (context over)"
			}
			order = append(order, name)
		}
		old := stopTimeout
		stopTimeout = 300 * time.Millisecond
		DeferCleanup(func() { stopTimeout = old })
		r := &runner{}
		r.stops = append(r.stops,
			func(ctx context.Context) error { note("pinning", ctx); return nil },
			func(ctx context.Context) error { note("backend", ctx); return nil },
			func(ctx context.Context) error { note("proxy", ctx); return errors.New("proxy did not stop") },
			func(ctx context.Context) error {
				<-ctx.Done() // a peer that never stops: it takes the whole bound
				note("slow peer", ctx)
				return nil
			},
		)
		start := time.Now()
		err := r.stopAll()
		Expect(time.Since(start)).To(BeNumerically("<", 2*stopTimeout))
		Expect(err).To(MatchError(ContainSubstring("proxy did not stop")))
		Expect(order).To(HaveLen(4))
		Expect(order[:2]).To(ConsistOf("backend", "proxy"), "called at once, with their time")
		Expect(order[2:]).To(Equal([]string{"slow peer (context over)", "pinning (context over)"}))
		Expect(r.stops).To(BeEmpty())
		Expect(r.stopAll()).To(Succeed())
	})
})
