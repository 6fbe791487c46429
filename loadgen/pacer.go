package loadgen

import (
	"math"
	"math/rand/v2"
	"time"
)

// Pacer decides when each hit of an open-loop phase is due (vegeta's model).
//
// The engine calls Pace once per hit, in order. elapsed is the intended offset
// of the previous hit from the start of the phase (0 on the first call) and hits
// is the number of hits already scheduled in the phase. Pace returns how long
// after elapsed the next hit is due (0 when it is already due), or stop when the
// phase sends no more hits. Because elapsed is the previous intended offset, not
// the wall clock, the schedule depends on the pacer alone and a stateful pacer
// (Poisson) is reproducible. A Pacer is used by one goroutine at a time.
type Pacer interface {
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
}

// PacerFunc adapts a function to Pacer.
type PacerFunc func(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)

// Pace calls f.
func (f PacerFunc) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return f(elapsed, hits)
}

// dueAfter turns an absolute due offset (in seconds from the phase start) into
// the wait after elapsed.
func dueAfter(elapsed time.Duration, dueSec float64) time.Duration {
	due := time.Duration(dueSec * float64(time.Second))
	if due <= elapsed {
		return 0
	}
	return due - elapsed
}

// constantPacer sends hit n at n/rate.
type constantPacer struct{ rate float64 }

// Constant returns a pacer that sends rate hits per second, evenly spaced: hit
// n is due at n/rate seconds. A rate ≤ 0 sends nothing.
func Constant(rate float64) Pacer { return constantPacer{rate: rate} }

func (p constantPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.rate <= 0 || math.IsNaN(p.rate) {
		return 0, true
	}
	return dueAfter(elapsed, float64(hits)/p.rate), false
}

// linearPacer ramps the rate from `from` to `to` over `over`, then holds `to`.
type linearPacer struct {
	from, to float64
	over     time.Duration
}

// Linear returns a pacer whose rate (hits per second) moves linearly from
// `from` to `to` over `over` and stays at `to` afterwards. Hit n is due at the
// first time t where the hits owed so far, the integral of the rate over
// [0, t], reach n. An `over` ≤ 0 behaves as Constant(to).
func Linear(from, to float64, over time.Duration) Pacer {
	if over <= 0 {
		return Constant(to)
	}
	return linearPacer{from: math.Max(from, 0), to: math.Max(to, 0), over: over}
}

func (p linearPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	n := float64(hits)
	T := p.over.Seconds()
	owedAtT := (p.from + p.to) / 2 * T
	if n <= owedAtT {
		// Solve a·t² + b·t = n on the ramp, a = (to-from)/(2T), b = from.
		a, b := (p.to-p.from)/(2*T), p.from
		var t float64
		switch {
		case n == 0:
			t = 0
		case math.Abs(a) < 1e-12:
			t = n / b
		default:
			t = (-b + math.Sqrt(math.Max(b*b+4*a*n, 0))) / (2 * a)
		}
		return dueAfter(elapsed, math.Min(t, T)), false
	}
	if p.to <= 0 {
		return 0, true
	}
	return dueAfter(elapsed, T+(n-owedAtT)/p.to), false
}

// Step is one constant-rate stretch of a Steps pacer.
type Step struct {
	Rate     float64       // hits per second; 0 sends nothing during the step
	Duration time.Duration // 0 on the last step means "until the phase ends"
}

type stepsPacer struct{ steps []Step }

// Steps returns a pacer that holds each step's rate for its duration, one
// after the other. After the last step (when its Duration is not 0) it stops.
func Steps(steps ...Step) Pacer {
	return stepsPacer{steps: append([]Step(nil), steps...)}
}

func (p stepsPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	n := float64(hits)
	var start, owed float64 // seconds and hits at the start of the current step
	for i, s := range p.steps {
		d := s.Duration.Seconds()
		last := i == len(p.steps)-1 && s.Duration <= 0
		rate := math.Max(s.Rate, 0)
		if rate > 0 && (last || n < owed+rate*d) {
			return dueAfter(elapsed, start+(n-owed)/rate), false
		}
		if last {
			break
		}
		start += d
		owed += rate * d
	}
	return 0, true
}

// poissonPacer draws exponential gaps: a Poisson arrival process.
type poissonPacer struct {
	rate float64
	rng  *rand.Rand
}

// Poisson returns a pacer whose arrivals form a Poisson process with the given
// mean rate (hits per second): gaps are exponential with mean 1/rate, drawn
// from a PCG generator seeded with seed, so one seed gives one schedule. It is
// stateful: use a fresh Poisson pacer per phase.
func Poisson(rate float64, seed uint64) Pacer {
	return &poissonPacer{rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (p *poissonPacer) Pace(_ time.Duration, _ uint64) (time.Duration, bool) {
	if p.rate <= 0 || math.IsNaN(p.rate) {
		return 0, true
	}
	return time.Duration(p.rng.ExpFloat64() / p.rate * float64(time.Second)), false
}

var (
	_ Pacer = PacerFunc(nil)
	_ Pacer = constantPacer{}
	_ Pacer = linearPacer{}
	_ Pacer = stepsPacer{}
	_ Pacer = (*poissonPacer)(nil)
)
