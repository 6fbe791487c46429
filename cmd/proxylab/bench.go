package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/loadgen/bench"
	"github.com/proxylab/proxylab/sim/server"
)

// benchFlags are the flags of `proxylab bench`.
type benchFlags struct {
	duration, warmup time.Duration
	connections      int
	reps             int
	rate             string
	body             string
	peers, targets   []string
	builtins         []string
	backend          string
	backendAddr      string
	noPin, noTunnel  bool
	idleConns        int
	streams          int
	jsonOut          bool
	report           string
	benchfmt         string
	quiet            bool
}

func newBenchCommand() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench [--peer NAME]... [--target URL]...",
		Short: "Benchmark the built-in proxies against a direct baseline and well-known peers, in one run",
		Long: `bench puts a direct baseline, the built-in reverse and forward proxies, well-known
peers (--peer nginx, haproxy, caddy, squid, tinyproxy) and any proxy already
running (--target) side by side in one run, with one method:

  - one fixed-response backend (the sim server, or nginx "return 200" with
    --backend nginx) and one load generator, the same connections and body
    size for every target;
  - with two cores or more (unless --no-pin): the proxy under test alone on
    core 1 (taskset), the load generator and the backend on core 0; one
    worker per proxy (GOMAXPROCS=1, worker_processes 1, nbthread 1). The
    built-in proxies run as child processes ("proxylab proxy reverse|forward")
    so their CPU time can be read like any peer's;
  - a warm-up per target, discarded; then repetitions interleaved
    (A B C A B C …), reported as the median with the spread (min–max).

For each target it reports req/s and p50/p99 (closed loop, --connections),
the proxy's CPU µs per request (Δ utime+stime of its process tree from
/proc/PID/stat over requests; meaningful even when the load generator's core
is the bottleneck), peak RSS (VmHWM), latency added over direct and the
proxy's CPU µs per request at a fixed open-loop rate, the same for every
target (--rate; default half the slowest target's req/s), CONNECT
bulk throughput through each forward proxy vs plain TCP (MB/s), and with
--idle-conns N the RSS each idle keep-alive client connection costs. Ratios
vs direct and between proxies of the same mode close the report.

When pinned, wake-ups/req counts the interrupts the load core received per
request (/proc/interrupts RES+CAL). A proxy slower than the load core keeps
it waiting, then pays for waking it on every write, and its CPU per request
jumps; the report names the repetitions where that happened, so that runs
are compared like with like. It also names the repetitions in which direct
itself ran more than 15% below its best: the machine was slower then, for
every target measured around that time.

A peer that is not installed is skipped with how to install it. --target
http://HOST:PORT/path sends requests to a proxy you started (point it at
--backend-addr); --target proxy+http://HOST:PORT uses it as a forward proxy
to the backend. Its CPU is read when its process is visible in /proc.

Output: text on stdout, or JSON with --json (schema proxylab.bench/v1);
--report DIR also writes DIR/index.html (tables and SVG bar charts) and
DIR/bench.json; --benchfmt FILE writes every repetition in Go benchmark
format, so that two runs compare with benchstat (Mann-Whitney U). Progress goes to stderr when it is a terminal (not with
--quiet). Bad flags exit 2.`,
		Example: `  # the built-in proxies against direct, 5 s × 3 repetitions
  proxylab bench --duration 5s

  # beside nginx, HAProxy and Squid, 10 repetitions, with an HTML report
  proxylab bench --peer nginx --peer haproxy --peer squid --reps 10 --report bench-report

  # 1 KiB bodies, open-loop latency at 5000 req/s, memory of 10k idle connections
  proxylab bench --body 1KiB --rate 5000/s --idle-conns 10000

  # a proxy you run yourself, pointed at a fixed backend address
  proxylab bench --backend-addr 127.0.0.1:9000 --target http://127.0.0.1:8080/ --builtin none`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := f.config(c)
			if err != nil {
				return err
			}
			return runBench(c, cfg, &f)
		},
	}
	fl := c.Flags()
	fl.DurationVar(&f.duration, "duration", bench.DefaultDuration, "each measured run of one target in one repetition")
	fl.DurationVar(&f.warmup, "warmup", bench.DefaultWarmup, "warm-up per target before the first repetition, discarded (0 for none)")
	fl.IntVar(&f.connections, "connections", bench.DefaultConnections, "closed-loop connections, and the most open-loop requests in flight")
	fl.IntVar(&f.reps, "reps", bench.DefaultReps, "interleaved repetitions")
	fl.StringVar(&f.rate, "rate", "", `open-loop rate for added latency and CPU at equal work, N/unit ("5000/s"); default half the slowest target's req/s; "off" skips it`)
	fl.StringVar(&f.body, "body", "0", "response body size (0, 1KiB, 16KiB, …)")
	fl.StringArrayVar(&f.peers, "peer", nil, "external proxy to start beside the built-in ones: "+strings.Join(bench.Peers(), ", ")+"; repeatable or comma-separated")
	fl.StringArrayVar(&f.targets, "target", nil, "a proxy already running: http://HOST:PORT/path or proxy+http://HOST:PORT; repeatable")
	fl.StringArrayVar(&f.builtins, "builtin", []string{bench.Reverse, bench.Forward}, `built-in proxies to measure: reverse, forward, or "none"`)
	fl.StringVar(&f.backend, "backend", bench.BackendSim, "the fixed-response backend: sim (in this process) or nginx (return 200)")
	fl.StringVar(&f.backendAddr, "backend-addr", "", "backend listen address HOST:PORT (default 127.0.0.1:0)")
	fl.BoolVar(&f.noPin, "no-pin", false, "do not pin the proxy and the load to separate cores")
	fl.BoolVar(&f.noTunnel, "no-tunnel", false, "skip the CONNECT throughput figure")
	fl.IntVar(&f.streams, "tunnel-streams", 1, "CONNECT figure: bulk streams sent at once")
	fl.IntVar(&f.idleConns, "idle-conns", 0, "idle keep-alive client connections to hold through each proxy for the memory figure (0 skips it)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the result as JSON instead of text")
	fl.StringVar(&f.report, "report", "", "write an HTML report (index.html) and bench.json to DIR")
	fl.StringVar(&f.benchfmt, "benchfmt", "", "also write every repetition in Go benchmark format to FILE, for benchstat")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress and no log lines on stderr")
	c.AddCommand(newBenchSinkCommand())
	return c
}

// newBenchSinkCommand is the CONNECT figure's far end, which bench starts as
// its own process; it is not meant to be run by hand.
func newBenchSinkCommand() *cobra.Command {
	var listen string
	c := &cobra.Command{
		Use:    "sink --listen ADDR",
		Short:  "Read and count bulk streams (the far end of bench's CONNECT figure)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "sink listening on http://%s\n", ln.Addr())
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return bench.ServeSink(ctx, ln)
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	return c
}

// config turns the flags into a bench.Config, or a usage error naming the flag.
func (f *benchFlags) config(c *cobra.Command) (bench.Config, error) {
	cfg := bench.Config{
		Duration: f.duration, Warmup: f.warmup, Connections: f.connections, Reps: f.reps,
		Backend: f.backend, BackendAddr: f.backendAddr, NoPin: f.noPin, NoTunnel: f.noTunnel,
		IdleConns: f.idleConns, TunnelStreams: f.streams, Builtins: []string{},
	}
	// This program is proxylab: the CONNECT sink runs as its own process
	// even when no built-in proxy is measured (a sink inside the load
	// generator's process makes the direct figure several times too high).
	if exe, err := os.Executable(); err == nil {
		cfg.Proxylab = exe
	}
	if f.duration <= 0 {
		return cfg, usageErrorf("--duration %s: want a positive duration such as 5s", f.duration)
	}
	if f.warmup < 0 {
		return cfg, usageErrorf("--warmup %s: want a duration ≥ 0 such as 2s", f.warmup)
	}
	if f.warmup == 0 {
		cfg.Warmup = -1 // none
	}
	if f.connections <= 0 {
		return cfg, usageErrorf("--connections %d: want a positive number", f.connections)
	}
	if f.reps <= 0 {
		return cfg, usageErrorf("--reps %d: want a positive number of repetitions", f.reps)
	}
	if f.streams <= 0 {
		return cfg, usageErrorf("--tunnel-streams %d: want a positive number of streams", f.streams)
	}
	if f.idleConns < 0 {
		return cfg, usageErrorf("--idle-conns %d: want a number ≥ 0", f.idleConns)
	}
	switch strings.TrimSpace(f.rate) {
	case "":
	case "off", "0":
		cfg.Rate = -1
	default:
		r, err := loadgen.ParseRate(f.rate)
		if err != nil {
			return cfg, usageErrorf("--rate: %v", err)
		}
		if r <= 0 {
			return cfg, usageErrorf("--rate %q: want a positive rate such as 5000/s, or off", f.rate)
		}
		cfg.Rate = r
	}
	body, err := server.ParseSize(f.body)
	if err != nil {
		return cfg, usageErrorf("--body: %v; want a size such as 0, 1KiB or 16KiB", err)
	}
	cfg.Body = body
	for _, b := range splitList(f.builtins) {
		if b == "none" {
			continue
		}
		cfg.Builtins = append(cfg.Builtins, b)
	}
	cfg.Peers = splitList(f.peers)
	cfg.Targets = f.targets
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrorf("%v", err)
	}
	_ = c
	return cfg, nil
}

// splitList flattens repeatable, comma-separated flag values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, strings.ToLower(p))
			}
		}
	}
	return out
}

func runBench(c *cobra.Command, cfg bench.Config, f *benchFlags) error {
	stderr := c.ErrOrStderr()
	var opts []bench.Option
	var bar *benchBar
	if !f.quiet {
		opts = append(opts, bench.WithLog(stderr))
		if isTerminal(stderr) {
			bar = newBenchBar(stderr)
			opts = append(opts, bench.WithProgress(bar.step))
		}
	}
	if f.report != "" {
		if err := os.MkdirAll(f.report, 0o755); err != nil {
			return usageErrorf("--report %s: %v", f.report, err)
		}
	}
	var bf *os.File
	if f.benchfmt != "" {
		var err error
		if bf, err = os.Create(f.benchfmt); err != nil {
			return usageErrorf("--benchfmt %s: %v", f.benchfmt, err)
		}
		defer bf.Close() // a second Close after the write is harmless
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
	defer stop()
	res, err := bench.Run(ctx, cfg, opts...)
	if bar != nil {
		bar.done(err == nil)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: exitVerdict, msg: "interrupted"}
		}
		return &exitError{code: exitVerdict, msg: err.Error()}
	}
	if f.report != "" {
		if err := writeBenchReport(f.report, res); err != nil {
			return err
		}
		if !f.quiet {
			fmt.Fprintf(stderr, "report written to %s\n", filepath.Join(f.report, "index.html"))
		}
	}
	if bf != nil {
		werr := res.WriteBenchfmt(bf)
		if cerr := bf.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	out := c.OutOrStdout()
	if f.jsonOut {
		return res.WriteJSON(out)
	}
	return res.WriteText(out)
}

func writeBenchReport(dir string, res *bench.Result) error {
	write := func(name string, fn func(io.Writer) error) error {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := fn(fh); err != nil {
			fh.Close()
			return err
		}
		return fh.Close()
	}
	if err := write("index.html", res.WriteHTML); err != nil {
		return err
	}
	return write("bench.json", res.WriteJSON)
}

// benchBar is one mpb bar over the run's steps, naming the current one.
type benchBar struct {
	p    *mpb.Progress
	mu   sync.Mutex
	bar  *mpb.Bar
	what string
}

func newBenchBar(w io.Writer) *benchBar {
	return &benchBar{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(30), mpb.WithRefreshRate(200*time.Millisecond))}
}

func (b *benchBar) step(s bench.Step) {
	b.mu.Lock()
	what := s.Stage + " " + s.Target
	if s.Rep > 0 {
		what += " rep " + strconv.Itoa(s.Rep)
	}
	b.what = what
	bar := b.bar
	b.mu.Unlock()
	if bar == nil {
		bar = b.p.AddBar(int64(s.Total),
			mpb.PrependDecorators(decor.Name("bench", decor.WC{W: 6, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.CountersNoUnit("%d/%d "), decor.Any(func(decor.Statistics) string {
				b.mu.Lock()
				defer b.mu.Unlock()
				return b.what
			})),
		)
		b.mu.Lock()
		b.bar = bar
		b.mu.Unlock()
	}
	bar.SetCurrent(int64(s.Done))
}

func (b *benchBar) done(ok bool) {
	b.mu.Lock()
	bar := b.bar
	b.mu.Unlock()
	if bar != nil {
		if ok {
			bar.SetTotal(-1, true)
		} else {
			bar.Abort(false)
		}
	}
	b.p.Wait()
}
