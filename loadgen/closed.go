package loadgen

import (
	"context"
	"time"
)

// runClosed starts the Connections workers of closed-loop phase i; each sends
// back to back (with Think between) until ctx, the phase's context, ends.
func (e *engine) runClosed(ctx context.Context, i int) {
	for w := range e.plan.Phases[i].Connections {
		e.workers.Add(1)
		go e.closedWorker(ctx, i, w)
	}
}

func (e *engine) closedWorker(ctx context.Context, i, w int) {
	defer e.workers.Done()
	ph := e.plan.Phases[i]
	ps := &e.sched[i]
	var think *time.Timer
	if ph.Think > 0 {
		think = time.NewTimer(time.Hour)
		defer think.Stop()
	}
	// No schedule: a request is intended when it is sent, which back to back
	// is when the previous response ended (the doer read the clock then).
	var now time.Time
	for ctx.Err() == nil {
		ps.sent.Add(1)
		if now.IsZero() {
			now = time.Now()
		}
		end := e.do(i, Slot{Phase: ph.Name, Seq: e.seq.Add(1) - 1, Intended: now, Worker: w}, now, true)
		now = time.Time{}
		if think == nil {
			now = end
			continue
		}
		think.Reset(ph.Think)
		select {
		case <-think.C:
		case <-ctx.Done():
			return
		}
	}
}
