package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/proxylab/proxylab/loadgen"
)

// loadFlags are the flags of `proxylab load`.
type loadFlags struct {
	rate        string
	connections int
	duration    time.Duration
	warmup      time.Duration
	method      string
	headers     []string
	body        string
	proxy       string
	noKeepAlive bool
	h2c         bool
	maxInFlight int
	timeout     time.Duration
	jsonOut     bool
	hdrLog      string
	quiet       bool
	spin        time.Duration
	idHeader    string
	maxConns    int
}

func newLoadCommand() *cobra.Command {
	var f loadFlags
	c := &cobra.Command{
		Use:   "load URL",
		Short: "Send HTTP load to a URL and report corrected and raw latency",
		Long: `load sends HTTP/1.1 requests to URL, like wrk, wrk2, vegeta or hey, and
reports throughput, errors by kind and latency quantiles.

With --rate it runs open loop (like wrk2 and vegeta): requests go out at their
intended times whatever the target does, and latency is measured both from the
intended send time (corrected: it shows server stalls) and from the actual
send (raw). Requests share a pool of --max-conns connections; at most
--max-inflight are in flight at once. A request due while all are busy is
sent late and counted, never skipped.

With --connections (the default, 10) it runs closed loop (like wrk and hey):
each connection sends its next request as soon as the previous one is done.
This measures the maximum throughput, but cannot see coordinated omission, so
its corrected latency equals raw latency.

--warmup runs the same load first as a separate phase, reported apart.
Progress bars go to stderr when it is a terminal (not with --quiet). The
summary goes to stdout, as text or, with --json, as JSON (schema
proxylab.loadgen/v1). --hdr-log writes an HdrHistogram interval log (Tag=
corrected and Tag=raw, values in ns) for HdrHistogram plotters.`,
		Example: `  # maximum throughput: 64 connections for 10 s
  proxylab load http://127.0.0.1:8080/ --connections 64 --duration 10s

  # constant 2000 requests per second, after a 5 s warm-up, as JSON
  proxylab load http://127.0.0.1:8080/api --rate 2000/s --duration 30s --warmup 5s --json

  # POST a file through a forward proxy with Basic auth
  proxylab load http://server1/upload --method POST --body @payload.json \
      --header 'Content-Type: application/json' \
      --proxy http://user:secret@127.0.0.1:3128 --rate 50/s --duration 20s

  # h2c (HTTP/2 without TLS), with an interval log for plotting
  proxylab load http://127.0.0.1:8080/ --h2c --rate 500/s --duration 1m --hdr-log run.hlog`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runLoad(c, args[0], &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.rate, "rate", "", `open loop: requests per unit of time, N/unit ("2000/s", "20/100ms", "1000/1m")`)
	fl.IntVar(&f.connections, "connections", 0, "closed loop: connections sending back to back (default 10 when --rate is not set)")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "how long to send (after the warm-up)")
	fl.DurationVar(&f.warmup, "warmup", 0, "a warm-up phase with the same load before the measured one, reported apart")
	fl.StringVar(&f.method, "method", "GET", "request method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `request header "Name: value" (repeatable)`)
	fl.StringVar(&f.body, "body", "", "request body, or @FILE to read it from a file")
	fl.StringVar(&f.proxy, "proxy", "", "forward proxy URL http://[user:pass@]host:port (absolute-form requests)")
	fl.BoolVar(&f.noKeepAlive, "no-keepalive", false, "close the connection after every response")
	fl.BoolVar(&f.h2c, "h2c", false, "speak HTTP/2 over cleartext (prior knowledge)")
	fl.IntVar(&f.maxInFlight, "max-inflight", loadgen.DefaultMaxInFlight, "open loop: most requests in flight at once (sent or waiting for a connection)")
	fl.IntVar(&f.maxConns, "max-conns", 256, "open loop: connections in the pool; a request finding all busy waits (counted in corrected latency)")
	fl.DurationVar(&f.timeout, "timeout", loadgen.DefaultHTTPTimeout, "per-request timeout, dial included")
	fl.BoolVar(&f.jsonOut, "json", false, "print the report as JSON instead of text")
	fl.StringVar(&f.hdrLog, "hdr-log", "", "write an HdrHistogram interval log to FILE")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bars")
	fl.StringVar(&f.idHeader, "id-header", "", `add a unique request id header of this name to every request, e.g. X-Proxylab-Id ("load-<seq>")`)
	fl.DurationVar(&f.spin, "spin", 0, "open loop: busy-wait the last D before each send for sub-millisecond timing (Go timers wake up to ~1ms late; costs CPU, hurts on a busy machine)")
	return c
}

// loadPlan turns the flags into a plan, or a usage error naming the flag.
func loadPlan(c *cobra.Command, f *loadFlags) (loadgen.Plan, error) {
	if f.rate != "" && c.Flags().Changed("connections") {
		return loadgen.Plan{}, usageErrorf("--rate and --connections exclude each other: --rate R/s for open loop, or --connections N for closed loop")
	}
	if f.duration <= 0 {
		return loadgen.Plan{}, usageErrorf("--duration %s: want a positive duration such as 10s or 1m30s", f.duration)
	}
	if f.warmup < 0 {
		return loadgen.Plan{}, usageErrorf("--warmup %s: want a duration ≥ 0 such as 5s", f.warmup)
	}
	if f.maxInFlight <= 0 {
		return loadgen.Plan{}, usageErrorf("--max-inflight %d: want a positive number of requests", f.maxInFlight)
	}
	if f.maxConns <= 0 {
		return loadgen.Plan{}, usageErrorf("--max-conns %d: want a positive number of connections", f.maxConns)
	}
	if f.spin < 0 {
		return loadgen.Plan{}, usageErrorf("--spin %s: want a duration ≥ 0 such as 1ms", f.spin)
	}
	if f.timeout <= 0 {
		return loadgen.Plan{}, usageErrorf("--timeout %s: want a positive duration such as 5s", f.timeout)
	}
	phase := func(name string, d time.Duration) (loadgen.Phase, error) {
		ph := loadgen.Phase{Name: name, Duration: d}
		if f.rate == "" {
			ph.Connections = 10
			if c.Flags().Changed("connections") {
				ph.Connections = f.connections
			}
			if ph.Connections <= 0 {
				return ph, usageErrorf("--connections %d: want a positive number of connections", f.connections)
			}
			return ph, nil
		}
		r, err := loadgen.ParseRate(f.rate)
		if err != nil {
			return ph, usageErrorf("--rate: %v", err)
		}
		ph.Pacer, ph.MaxInFlight = loadgen.Constant(r), f.maxInFlight
		return ph, nil
	}
	var plan loadgen.Plan
	if f.warmup > 0 {
		ph, err := phase("warmup", f.warmup)
		if err != nil {
			return plan, err
		}
		plan.Phases = append(plan.Phases, ph)
	}
	ph, err := phase("load", f.duration)
	if err != nil {
		return plan, err
	}
	plan.Phases = append(plan.Phases, ph)
	return plan, nil
}

// loadTarget turns the flags into the HTTP doer's config.
func loadTarget(url string, f *loadFlags) (loadgen.HTTPConfig, error) {
	cfg := loadgen.HTTPConfig{
		Method:      strings.ToUpper(f.method),
		URL:         url,
		Header:      http.Header{},
		NoKeepAlive: f.noKeepAlive,
		Proxy:       f.proxy,
		H2C:         f.h2c,
		Timeout:     f.timeout,
		IDHeader:    f.idHeader,
	}
	if f.rate != "" {
		cfg.MaxConns = f.maxConns
	}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(strings.TrimSpace(k), " \t") {
			return cfg, usageErrorf("--header %q: want \"Name: value\"", h)
		}
		cfg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	switch {
	case strings.HasPrefix(f.body, "@"):
		b, err := os.ReadFile(f.body[1:])
		if err != nil {
			return cfg, usageErrorf("--body %s: %v", f.body, err)
		}
		cfg.Body = b
	case f.body != "":
		cfg.Body = []byte(f.body)
	}
	return cfg, nil
}

func runLoad(c *cobra.Command, url string, f *loadFlags) error {
	plan, err := loadPlan(c, f)
	if err != nil {
		return err
	}
	cfg, err := loadTarget(url, f)
	if err != nil {
		return err
	}
	doer, err := loadgen.NewHTTPDoer(cfg)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer doer.Close()

	opts := []loadgen.Option{loadgen.WithSpin(f.spin)}
	if f.hdrLog != "" {
		hf, err := os.Create(f.hdrLog)
		if err != nil {
			return usageErrorf("--hdr-log %s: %v", f.hdrLog, err)
		}
		defer hf.Close()
		opts = append(opts, loadgen.WithHDRLog(hf))
	}
	stderr := c.ErrOrStderr()
	var bars *loadBars
	if !f.quiet && isTerminal(stderr) {
		bars = newLoadBars(stderr)
		opts = append(opts, loadgen.WithProgress(bars))
	}

	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
	defer stop()
	rep, runErr := loadgen.Run(ctx, plan, doer, opts...)
	if bars != nil {
		bars.wait()
	}
	if rep == nil {
		return runErr
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "proxylab: interrupted, partial report follows")
	}
	out := c.OutOrStdout()
	if f.jsonOut {
		return rep.WriteJSON(out)
	}
	return rep.WriteText(out)
}

func isTerminal(w io.Writer) bool {
	fd, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(fd.Fd()) || isatty.IsCygwinTerminal(fd.Fd()))
}

// loadBars draws one mpb bar per phase: elapsed time, live rps and failures.
type loadBars struct {
	p *mpb.Progress

	mu     sync.Mutex
	phases map[string]*phaseBar
	order  []*phaseBar
}

// phaseBar is one phase's bar and its last figures.
type phaseBar struct {
	bar  *mpb.Bar
	live loadgen.Snapshot
}

func newLoadBars(w io.Writer) *loadBars {
	return &loadBars{
		p:      mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond)),
		phases: map[string]*phaseBar{},
	}
}

func (b *loadBars) PhaseStarted(name string, d time.Duration) {
	pb := &phaseBar{live: loadgen.Snapshot{Phase: name, Duration: d}}
	// Not under b.mu: AddBar waits for the renderer, which calls the
	// decorator below, which takes b.mu.
	pb.bar = b.p.AddBar(max(d.Milliseconds(), 1),
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: 8, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			b.mu.Lock()
			s := pb.live
			b.mu.Unlock()
			line := fmt.Sprintf("%5.1fs/%s  %8.0f req/s  %d req  %d failed", s.Elapsed.Seconds(), s.Duration, s.RPS, s.Requests, s.Failures)
			if s.Late+s.Unsent > 0 {
				line += fmt.Sprintf("  %d late %d unsent", s.Late, s.Unsent)
			}
			return line
		})),
	)
	b.mu.Lock()
	b.phases[name] = pb
	b.order = append(b.order, pb)
	b.mu.Unlock()
}

func (b *loadBars) Update(s loadgen.Snapshot) {
	b.mu.Lock()
	pb := b.phases[s.Phase]
	if pb != nil {
		pb.live = s
	}
	b.mu.Unlock()
	if pb != nil {
		pb.bar.SetCurrent(min(s.Elapsed.Milliseconds(), s.Duration.Milliseconds()))
	}
}

func (b *loadBars) PhaseDone(name string, st loadgen.Stats) {
	b.mu.Lock()
	pb := b.phases[name]
	if pb != nil {
		pb.live.Elapsed = pb.live.Duration
		pb.live.Requests, pb.live.Failures = st.Requests, st.Failures
		pb.live.Late, pb.live.Unsent = st.Late, st.Unsent
		if st.Duration > 0 {
			pb.live.RPS = float64(st.Requests) / st.Duration.Seconds()
		}
	}
	b.mu.Unlock()
	if pb != nil {
		pb.bar.SetCurrent(max(pb.live.Duration.Milliseconds(), 1))
		pb.bar.SetTotal(-1, true)
	}
}

// wait aborts the bars a cut-short run left open, then waits for the last draw.
func (b *loadBars) wait() {
	b.mu.Lock()
	order := b.order
	b.mu.Unlock()
	for _, pb := range order {
		if !pb.bar.Completed() {
			pb.bar.Abort(false)
		}
	}
	b.p.Wait()
}

var _ loadgen.Progress = (*loadBars)(nil)
