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
	for ctx.Err() == nil {
		ps.sent.Add(1)
		now := time.Now() // no schedule: intended is now
		e.do(i, Slot{Phase: ph.Name, Seq: e.seq.Add(1) - 1, Intended: now, Worker: w}, now)
		if think == nil {
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
