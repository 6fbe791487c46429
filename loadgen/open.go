package loadgen

import (
	"context"
	"runtime"
	"time"
)

// maxUnsentCount bounds the counting of unsent slots after a phase stops, in
// case a pacer never stops and never waits.
const maxUnsentCount = 100_000_000

// runOpen is the scheduler of open-loop phase i: it computes every intended
// send time from the pacer alone and hands each slot, at its time, to an idle
// worker, a new worker (up to MaxInFlight), or, when all are busy, to the
// first worker that frees up (the slot is then late). It returns when the
// phase's time is over, the pacer stops, or ctx ends; the slots due by then
// and not sent are counted as unsent.
func (e *engine) runOpen(ctx context.Context, i int, phaseStart time.Time) {
	ph := e.plan.Phases[i]
	ps := &e.sched[i]
	work := make(chan Slot)
	defer close(work)
	spawned := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	var elapsed time.Duration
	var hits uint64
	for {
		wait, stop := ph.Pacer.Pace(elapsed, hits)
		if stop || elapsed+wait >= ph.Duration {
			return
		}
		elapsed += wait
		hits++
		intended := phaseStart.Add(elapsed)
		if !e.waitUntil(ctx, timer, intended) {
			e.countUnsent(i, phaseStart, elapsed, hits)
			return
		}
		slot := Slot{Phase: ph.Name, Seq: e.seq.Add(1) - 1, Intended: intended}
		select {
		case work <- slot:
			ps.sent.Add(1)
			continue
		default:
		}
		if spawned < ph.MaxInFlight {
			slot.Worker = spawned
			spawned++
			ps.sent.Add(1)
			e.workers.Add(1)
			go e.openWorker(i, slot, work)
			continue
		}
		ps.late.Add(1)
		select {
		case work <- slot:
			ps.sent.Add(1)
		case <-ctx.Done():
			ps.late.Add(^uint64(0)) // it was never sent: unsent, not late
			e.countUnsent(i, phaseStart, elapsed, hits)
			return
		}
	}
}

// waitUntil sleeps until t, spinning for the last opts.spin of the wait; it
// reports false when ctx ends first.
func (e *engine) waitUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	if d > e.opts.spin {
		timer.Reset(d - e.opts.spin)
		select {
		case <-timer.C:
		case <-ctx.Done():
			// Woken late: a slot that fell due before the phase stopped is
			// still sent (its corrected latency shows the lag).
			return !time.Now().Before(t)
		}
	}
	for time.Now().Before(t) {
		if ctx.Err() != nil {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// countUnsent counts, as unsent, the pending slot (due at elapsed, number
// hits-1) and the following ones due before the phase stopped: its end, or
// now if ctx ended earlier.
func (e *engine) countUnsent(i int, phaseStart time.Time, elapsed time.Duration, hits uint64) {
	ph := e.plan.Phases[i]
	stopAt := min(time.Since(phaseStart), ph.Duration)
	var n uint64
	for c := 0; elapsed < stopAt && c < maxUnsentCount; c++ {
		n++
		wait, stop := ph.Pacer.Pace(elapsed, hits)
		if stop {
			break
		}
		elapsed += wait
		hits++
	}
	e.sched[i].unsent.Add(n)
}

// openWorker sends first, then every slot it is handed, until the scheduler
// closes work or the run's requests are cancelled.
func (e *engine) openWorker(phase int, first Slot, work <-chan Slot) {
	defer e.workers.Done()
	id := first.Worker
	e.do(phase, first, time.Now(), false)
	for {
		select {
		case s, ok := <-work:
			if !ok {
				return
			}
			s.Worker = id
			e.do(phase, s, time.Now(), false)
		case <-e.doCtx.Done():
			return
		}
	}
}
