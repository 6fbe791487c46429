package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// runner holds one Run's state.
type runner struct {
	cfg     Config
	o       runOptions
	pin     *pinning
	backend *backend
	sink    *sink
	targets []*target
	skipped []SkippedTarget
	stops   []func(context.Context) error // run at the end (stopAll)
	done    int                           // steps finished, for Step
	total   int
	rate    float64
	cores   int // usable cores before pinning
}

// Run measures every target of cfg, as the package doc says, and returns
// their figures side by side. It stops every process and server it started
// before it returns. A peer that is not installed or does not start is
// skipped (Result.Skipped says how to install it, or why); a built-in proxy
// that fails to start fails the run. When ctx ends mid-run, Run returns
// ctx's error.
func Run(ctx context.Context, cfg Config, opts ...Option) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	r := &runner{cfg: cfg.normalized(), o: o, cores: cores()}
	start := time.Now()
	steal0 := stealTicks()
	res, err := r.run(ctx)
	if stopErr := r.stopAll(); stopErr != nil {
		// The figures are taken; a proxy that had to be killed does not
		// change them, so say so and keep them.
		fmt.Fprintf(r.o.log, "stopping: %v\n", stopErr)
	}
	if err != nil {
		return nil, err
	}
	res.Start, res.Elapsed = start, time.Since(start)
	res.Env.StealMs = (stealTicks() - steal0) * 1000 / clockTick
	return res, nil
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	var err error
	if r.pin, err = newPinning(!r.cfg.NoPin); err != nil {
		return nil, err
	}
	r.stops = append(r.stops, func(context.Context) error { r.pin.undo(); return nil })
	if r.backend, err = r.startBackend(ctx); err != nil {
		return nil, err
	}
	r.stops = append(r.stops, r.backend.stop)
	if !r.cfg.NoTunnel && (r.cfg.builtin(Forward) || r.anyForwardPeer()) {
		if r.sink, err = r.startSink(ctx, r.sinkExe()); err != nil {
			return nil, err
		}
		r.stops = append(r.stops, r.sink.close)
	}
	if err := r.startTargets(ctx); err != nil {
		return nil, err
	}
	r.total = r.plannedSteps()
	if err := r.measure(ctx); err != nil {
		return nil, err
	}
	return r.result(), nil
}

// measure runs every stage in order; within a stage the repetitions are
// interleaved across targets.
func (r *runner) measure(ctx context.Context) error {
	if r.cfg.Warmup > 0 {
		for _, t := range r.targets {
			r.step("warmup", t, 0, r.cfg.Warmup)
			if _, err := r.closed(ctx, t, r.cfg.Warmup); err != nil {
				return err
			}
		}
	}
	for rep := 1; rep <= r.cfg.Reps; rep++ {
		for _, t := range r.targets {
			r.step("closed", t, rep, r.cfg.Duration)
			if err := r.closedRep(ctx, t); err != nil {
				return err
			}
		}
	}
	for _, t := range r.targets {
		if t.tree != nil {
			t.res.PeakRSS = t.tree.memory("VmHWM")
		}
	}
	r.rate = r.openRate()
	if r.rate > 0 {
		for rep := 1; rep <= r.cfg.Reps; rep++ {
			for _, t := range r.targets {
				r.step("open", t, rep, r.cfg.Duration)
				if err := r.openRep(ctx, t); err != nil {
					return err
				}
			}
		}
	}
	if r.sink != nil {
		for rep := 1; rep <= r.cfg.Reps; rep++ {
			for _, t := range r.tunnelTargets() {
				r.step("tunnel", t, rep, r.tunnelDuration())
				if err := r.tunnelRep(ctx, t); err != nil {
					return err
				}
			}
		}
	}
	if r.cfg.IdleConns > 0 {
		for _, t := range r.targets {
			if t.tree == nil {
				continue
			}
			r.step("idle", t, 0, 0)
			if err := r.idle(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// step reports the start of a step.
func (r *runner) step(stage string, t *target, rep int, d time.Duration) {
	r.o.progress(Step{Stage: stage, Target: t.res.Name, Rep: rep, Duration: d, Done: r.done, Total: r.total})
	r.done++
}

// plannedSteps counts the steps measure will take.
func (r *runner) plannedSteps() int {
	n := len(r.targets) * r.cfg.Reps // closed
	if r.cfg.Warmup > 0 {
		n += len(r.targets)
	}
	if r.cfg.Rate >= 0 {
		n += len(r.targets) * r.cfg.Reps
	}
	if r.sink != nil {
		n += len(r.tunnelTargets()) * r.cfg.Reps
	}
	if r.cfg.IdleConns > 0 {
		for _, t := range r.targets {
			if t.tree != nil {
				n++
			}
		}
	}
	return n
}

func (r *runner) anyForwardPeer() bool {
	for _, name := range r.cfg.Peers {
		if p, ok := lookupPeer(name); ok && p.Mode == Forward {
			return true
		}
	}
	for _, raw := range r.cfg.Targets {
		if strings.HasPrefix(raw, "proxy+") {
			return true
		}
	}
	return false
}

// tunnelTargets are direct and every forward proxy.
func (r *runner) tunnelTargets() []*target {
	var out []*target
	for _, t := range r.targets {
		if t.res.Kind == KindDirect || t.proxyAddr != "" {
			out = append(out, t)
		}
	}
	return out
}

// tunnelDuration is half the load duration: a bulk stream settles fast.
func (r *runner) tunnelDuration() time.Duration { return max(r.cfg.Duration/2, 100*time.Millisecond) }

// stopTimeout bounds stopAll; a child gets 5 s after SIGTERM within it.
var stopTimeout = 10 * time.Second

// stopAll runs the queued stops at once under one bounded context, then
// the first one queued (the pinning's undo) when there are others: a peer
// slow to stop no longer eats the time of the ones queued before it, which
// were killed without their 5 s.
func (r *runner) stopAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	stops := r.stops
	r.stops = nil
	if len(stops) == 0 {
		return nil
	}
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i := len(stops) - 1; i >= 1; i-- {
		wg.Go(func() { errs[i] = stops[i](ctx) })
	}
	wg.Wait()
	errs[0] = stops[0](ctx)
	return errors.Join(errs...)
}

// env describes the machine.
func (r *runner) env() Env {
	e := Env{Cores: r.cores, Go: runtime.Version(), Pinned: r.pin != nil && r.pin.on}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	return e
}
