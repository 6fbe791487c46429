package bench

import (
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxylab/proxylab/loadgen"
)

// loadGrace bounds how long a run waits for requests in flight at its end.
const loadGrace = 2 * time.Second

// idleSettle is how long the proxy gets to settle before its RSS is read
// with the idle connections open.
const idleSettle = 300 * time.Millisecond

// closed runs the closed loop on t for d and returns its overall figures.
func (r *runner) closed(ctx context.Context, t *target, d time.Duration) (loadgen.Stats, error) {
	plan := loadgen.Plan{Phases: []loadgen.Phase{{Name: "closed", Duration: d, Connections: r.cfg.Connections}}}
	rep, err := loadgen.Run(ctx, plan, t.doer, loadgen.WithGrace(loadGrace))
	if err != nil {
		return loadgen.Stats{}, fmt.Errorf("%s: closed loop: %w", t.res.Name, err)
	}
	t.res.Errors += rep.Overall.Failures
	return rep.Overall, nil
}

// closedRep is one measured closed-loop repetition: req/s, latency and the
// proxy's CPU per request.
func (r *runner) closedRep(ctx context.Context, t *target) error {
	cpu0 := t.cpuMark()
	wake0, wakeErr := r.loadWakeups()
	self0, wall0 := selfCPU(), time.Now()
	st, err := r.closed(ctx, t, r.cfg.Duration)
	if err != nil {
		return err
	}
	secs := st.Duration.Seconds()
	if secs <= 0 {
		secs = r.cfg.Duration.Seconds()
	}
	t.res.Requests += st.Requests
	if wall := time.Since(wall0); wall > 0 {
		t.loadCPU = append(t.loadCPU, float64(selfCPU()-self0)/float64(wall))
	}
	t.rps = append(t.rps, float64(st.Successes)/secs)
	t.p50 = append(t.p50, us(st.Raw.P50))
	t.p99 = append(t.p99, us(st.Raw.P99))
	if wake1, err := r.loadWakeups(); wakeErr == nil && err == nil && st.Requests > 0 {
		t.wakeups = append(t.wakeups, float64(wake1-wake0)/float64(st.Requests))
	}
	if used, ok, err := t.cpuSince(cpu0); err != nil {
		return err
	} else if ok && st.Requests > 0 {
		t.cpu = append(t.cpu, us(used)/float64(st.Requests))
	}
	return nil
}

// loadWakeups reads the wake-up interrupts the load core has received; an
// error when the run is not pinned (the figure says nothing then) or
// /proc/interrupts cannot be read.
func (r *runner) loadWakeups() (int64, error) {
	if r.pin == nil || !r.pin.on {
		return 0, errNotPinned
	}
	return readWakeups(loadCore)
}

// openRate is Config.Rate, or DefaultRateShare of the slowest target's
// median closed-loop req/s; 0 skips the open loop.
func (r *runner) openRate() float64 {
	if r.cfg.Rate < 0 {
		return 0
	}
	if r.cfg.Rate > 0 {
		return r.cfg.Rate
	}
	slowest := math.Inf(1)
	for _, t := range r.targets {
		if m := NewSpread(t.rps).Median; m > 0 && m < slowest {
			slowest = m
		}
	}
	if math.IsInf(slowest, 1) {
		return 0
	}
	return math.Max(1, math.Round(slowest*DefaultRateShare))
}

// openRep is one open-loop repetition at r.rate: corrected latency, and
// the proxy's CPU per request at a rate every target is given alike.
func (r *runner) openRep(ctx context.Context, t *target) error {
	cpu0 := t.cpuMark()
	plan := loadgen.Plan{Phases: []loadgen.Phase{{
		Name: "open", Duration: r.cfg.Duration, Pacer: loadgen.Constant(r.rate), MaxInFlight: r.cfg.Connections,
	}}}
	rep, err := loadgen.Run(ctx, plan, t.doer, loadgen.WithGrace(loadGrace))
	if err != nil {
		return fmt.Errorf("%s: open loop: %w", t.res.Name, err)
	}
	t.res.Errors += rep.Overall.Failures
	t.open50 = append(t.open50, us(rep.Overall.Corrected.P50))
	t.open99 = append(t.open99, us(rep.Overall.Corrected.P99))
	if used, ok, err := t.cpuSince(cpu0); err != nil {
		return err
	} else if ok && rep.Overall.Requests > 0 {
		t.openCPU = append(t.openCPU, us(used)/float64(rep.Overall.Requests))
	}
	return nil
}

// tunnelRep is one bulk transfer (Config.TunnelStreams streams at once)
// through t's CONNECT tunnels (direct: straight to the sink).
func (r *runner) tunnelRep(ctx context.Context, t *target) error {
	cpu0 := t.cpuMark()
	n, elapsed, err := r.sink.stream(ctx, t.proxyAddr, r.cfg.TunnelStreams, r.tunnelDuration())
	if err != nil {
		return fmt.Errorf("%s: %w", t.res.Name, err)
	}
	if elapsed <= 0 || n <= 0 {
		return fmt.Errorf("%s: tunnel: no bytes reached the sink", t.res.Name)
	}
	t.tunnelMBps = append(t.tunnelMBps, float64(n)/1e6/elapsed.Seconds())
	if used, ok, err := t.cpuSince(cpu0); err != nil {
		return err
	} else if ok {
		t.tunnelCPUPerGB = append(t.tunnelCPUPerGB, float64(used.Milliseconds())/(float64(n)/1e9))
	}
	return nil
}

// idleWorkers open the idle connections this many at a time.
const idleWorkers = 8

// idle holds cfg.IdleConns keep-alive client connections through t, each
// after one request, and reads the RSS the proxy tree grew by.
func (r *runner) idle(ctx context.Context, t *target) error {
	d, err := loadgen.NewHTTPDoer(t.http)
	if err != nil {
		return fmt.Errorf("%s: idle: %w", t.res.Name, err)
	}
	defer d.Close()
	port := 0
	if _, p, err := net.SplitHostPort(t.connectAddr()); err == nil {
		port, _ = strconv.Atoi(p)
	}
	already := establishedTo(port) // the load runs' connections, still open
	before := t.tree.memory("VmRSS")
	var next, opened atomic.Int64
	var wg sync.WaitGroup
	for range idleWorkers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(r.cfg.IdleConns) || ctx.Err() != nil {
					return
				}
				if res := d.Do(ctx, loadgen.Slot{Worker: int(i)}); res.Success() {
					opened.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	timer := time.NewTimer(idleSettle)
	select {
	case <-ctx.Done():
		timer.Stop()
		return ctx.Err()
	case <-timer.C:
	}
	after := t.tree.memory("VmRSS")
	idle := &Idle{Conns: r.cfg.IdleConns, Opened: int(opened.Load()), RSSBefore: before, RSSAfter: after}
	idle.Held = min(max(establishedTo(port)-already, 0), idle.Opened)
	if idle.Held > 0 {
		idle.PerConn = (after - before) / int64(idle.Held)
	}
	t.res.Idle = idle
	return nil
}

// us is d in microseconds.
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
