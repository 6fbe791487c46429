package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Run plays plan against d and returns its report. Phases run back to back
// from the moment Run is called. Sending stops at the end of the last phase or
// when ctx ends; requests still in flight then get the grace period
// (WithGrace) before their context is cancelled, and Run returns only once
// every goroutine it started is gone. When ctx ends early, Run returns the
// partial report together with ctx's error. A plan that does not validate
// returns a nil report and an error naming every problem.
func Run(ctx context.Context, plan Plan, d Doer, opts ...Option) (*Report, error) {
	if err := plan.Validate(); err != nil {
		return nil, fmt.Errorf("loadgen: invalid plan: %w", err)
	}
	if d == nil {
		return nil, errors.New("loadgen: nil Doer")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	e := newEngine(plan.normalized(), d, o)
	rep := e.run(ctx)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("loadgen: run cut short: %w", err)
	}
	return rep, nil
}

// engine is one run.
type engine struct {
	plan    Plan
	doer    Doer
	opts    runOptions
	rec     *recorder
	offsets []time.Duration // phase start, from the run start
	sched   []phaseSched
	seq     atomic.Uint64
	start   time.Time
	doCtx   context.Context
	workers sync.WaitGroup
	series  []Point
	// lastCells and lastFrom are what the last Point was made of, kept so
	// that results landing just before the stop join it (collector).
	lastCells map[string]*cell
	lastFrom  time.Time
	stopped   time.Time // when sending stopped: the plan's end, or earlier if ctx ended
}

// phaseSched holds a phase's schedule counters. Only its scheduler writes
// planned, late and unsent; sent is also written by closed-loop workers.
type phaseSched struct {
	sent, late, unsent atomic.Uint64
}

func newEngine(plan Plan, d Doer, o runOptions) *engine {
	e := &engine{
		plan:    plan,
		doer:    d,
		opts:    o,
		rec:     newRecorder(len(plan.Phases), o.highest),
		offsets: make([]time.Duration, len(plan.Phases)),
		sched:   make([]phaseSched, len(plan.Phases)),
	}
	var off time.Duration
	for i, ph := range plan.Phases {
		e.offsets[i] = off
		off += ph.Duration
	}
	return e
}

func (e *engine) run(ctx context.Context) *Report {
	doCtx, cancelDo := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDo()
	e.doCtx = doCtx
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()

	e.start = time.Now()
	end := e.start.Add(e.plan.Duration())
	stopCollector, collectorDone := make(chan struct{}), make(chan struct{})
	go e.collect(stopCollector, collectorDone)

	var schedulers sync.WaitGroup
	var cancels []context.CancelFunc
	for i, ph := range e.plan.Phases {
		phaseStart := e.start.Add(e.offsets[i])
		if !sleepUntil(sendCtx, phaseStart) {
			break
		}
		phaseCtx, cancel := context.WithDeadline(sendCtx, phaseStart.Add(ph.Duration))
		cancels = append(cancels, cancel)
		if ph.Open() {
			schedulers.Add(1)
			go func() {
				defer schedulers.Done()
				e.runOpen(phaseCtx, i, phaseStart)
			}()
		} else {
			e.runClosed(phaseCtx, i)
		}
	}
	sleepUntil(sendCtx, end)
	stopSending()
	if now := time.Now(); now.Before(end) {
		e.stopped = now
	} else {
		e.stopped = end
	}
	schedulers.Wait()
	for _, cancel := range cancels {
		cancel()
	}
	e.drain(cancelDo)
	close(stopCollector)
	<-collectorDone
	return e.report()
}

// drain waits for in-flight requests for the grace period, then cancels them
// and waits for their workers to return.
func (e *engine) drain(cancelDo context.CancelFunc) {
	drained := make(chan struct{})
	go func() {
		e.workers.Wait()
		close(drained)
	}()
	grace := time.NewTimer(e.opts.grace)
	defer grace.Stop()
	select {
	case <-drained:
	case <-grace.C:
		cancelDo()
		<-drained
	}
}

// do sends one slot and records its result. called is when the engine calls
// Do (the caller has it at hand). A closed-loop slot has no schedule: its
// corrected latency is its raw latency. do returns when the response ended
// as the doer timed it (Result.Start and Raw), or the zero time when the
// doer left the timing to the engine.
func (e *engine) do(phase int, s Slot, called time.Time, closed bool) time.Time {
	res := e.doer.Do(e.doCtx, s)
	var end time.Time
	if res.Start.IsZero() {
		res.Start = called
	} else if res.Raw > 0 {
		end = res.Start.Add(res.Raw)
	}
	if res.Raw <= 0 {
		res.Raw = time.Since(res.Start)
	}
	corrected := res.Raw
	if !closed {
		corrected = max(res.Start.Add(res.Raw).Sub(s.Intended), res.Raw)
	}
	e.rec.record(s.Worker, phase, &res, corrected, res.Raw)
	return end
}

// sleepUntil waits until t or ctx's end; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ran is how long phase i actually sent: its duration, or less when the run
// was cut short (0 for a phase that never started).
func (e *engine) ran(i int) time.Duration {
	d := e.stopped.Sub(e.start.Add(e.offsets[i]))
	return min(max(d, 0), e.plan.Phases[i].Duration)
}
