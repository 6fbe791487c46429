package loadgen

import (
	"errors"
	"fmt"
	"time"
)

// DefaultMaxInFlight caps the concurrent requests of an open-loop phase whose
// MaxInFlight is 0.
const DefaultMaxInFlight = 10000

// Phase is one stretch of load. Phases of a Plan run back to back with no gap
// and their figures are kept apart.
type Phase struct {
	// Name labels the phase in reports; "" becomes "phase<N>" (1-based).
	Name string
	// Duration is how long the phase sends; it must be positive.
	Duration time.Duration
	// Pacer, when set, makes the phase open loop: requests are sent at the
	// intended times it gives, whatever the target does.
	Pacer Pacer
	// Connections is the number of closed-loop workers when Pacer is nil, each
	// sending back to back. It must be positive for a closed-loop phase and is
	// ignored by an open-loop one.
	Connections int
	// Think is the pause of a closed-loop worker between a response and its
	// next request; 0 means none. Ignored by open-loop phases.
	Think time.Duration
	// MaxInFlight caps the concurrent requests of an open-loop phase; 0 means
	// DefaultMaxInFlight. A slot that comes due while all are busy is sent late
	// and counted (see the package doc), never skipped.
	MaxInFlight int
}

// Open reports whether the phase is open loop.
func (p Phase) Open() bool { return p.Pacer != nil }

// Plan is the whole run: its phases, in order.
type Plan struct {
	Phases []Phase
}

// Duration is the sum of the phase durations.
func (p Plan) Duration() time.Duration {
	var d time.Duration
	for _, ph := range p.Phases {
		d += ph.Duration
	}
	return d
}

// Validate returns every problem of the plan, joined, or nil.
func (p Plan) Validate() error {
	var errs []error
	if len(p.Phases) == 0 {
		errs = append(errs, errors.New("plan has no phases"))
	}
	seen := map[string]int{}
	for i, ph := range p.normalized().Phases {
		where := fmt.Sprintf("phase %d (%s)", i+1, ph.Name)
		if j, dup := seen[ph.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: name already used by phase %d", where, j+1))
		}
		seen[ph.Name] = i
		if ph.Duration <= 0 {
			errs = append(errs, fmt.Errorf("%s: duration %s must be positive", where, ph.Duration))
		}
		if !ph.Open() && ph.Connections <= 0 {
			errs = append(errs, fmt.Errorf("%s: closed loop needs connections > 0 (got %d), or set a Pacer for open loop", where, ph.Connections))
		}
		if ph.Think < 0 {
			errs = append(errs, fmt.Errorf("%s: think %s must not be negative", where, ph.Think))
		}
		if ph.MaxInFlight < 0 {
			errs = append(errs, fmt.Errorf("%s: max in flight %d must not be negative", where, ph.MaxInFlight))
		}
	}
	return errors.Join(errs...)
}

// normalized applies the defaults, in this one place.
func (p Plan) normalized() Plan {
	out := Plan{Phases: make([]Phase, len(p.Phases))}
	for i, ph := range p.Phases {
		if ph.Name == "" {
			ph.Name = fmt.Sprintf("phase%d", i+1)
		}
		if ph.MaxInFlight == 0 {
			ph.MaxInFlight = DefaultMaxInFlight
		}
		out.Phases[i] = ph
	}
	return out
}
