package loadgen

import "time"

// Progress receives live figures while a run goes. Its methods are called from
// one goroutine, in order, and must return quickly. loadgen draws nothing: the
// CLI turns these calls into progress bars.
type Progress interface {
	// PhaseStarted is called when a phase starts; d is its planned duration.
	PhaseStarted(name string, d time.Duration)
	// Update is called once per series interval (WithSeries) with the
	// running phase's figures.
	Update(s Snapshot)
	// PhaseDone is called when a phase's time is over, with its figures so far
	// (requests still in flight are not in them yet; the Report has them).
	PhaseDone(name string, st Stats)
}

// Snapshot is the running phase's live figures.
type Snapshot struct {
	Phase    string        // the running phase
	Elapsed  time.Duration // since the phase started
	Duration time.Duration // the phase's planned duration
	Requests int64         // completed in this phase so far
	Failures int64         // of which not successful
	RPS      float64       // completions per second over the last interval
	InFlight int64         // sent and not completed yet (this phase)
	Late     uint64        // open loop: slots sent late so far
	Unsent   uint64        // open loop: slots not sent so far
}

// ProgressFuncs adapts optional functions to Progress; nil ones do nothing.
type ProgressFuncs struct {
	OnPhaseStarted func(name string, d time.Duration)
	OnUpdate       func(s Snapshot)
	OnPhaseDone    func(name string, st Stats)
}

// PhaseStarted calls OnPhaseStarted when set.
func (p ProgressFuncs) PhaseStarted(name string, d time.Duration) {
	if p.OnPhaseStarted != nil {
		p.OnPhaseStarted(name, d)
	}
}

// Update calls OnUpdate when set.
func (p ProgressFuncs) Update(s Snapshot) {
	if p.OnUpdate != nil {
		p.OnUpdate(s)
	}
}

// PhaseDone calls OnPhaseDone when set.
func (p ProgressFuncs) PhaseDone(name string, st Stats) {
	if p.OnPhaseDone != nil {
		p.OnPhaseDone(name, st)
	}
}

var _ Progress = ProgressFuncs{}
