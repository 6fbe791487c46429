package balance

import "net/http"

// Random picks a candidate uniformly at random from its seeded generator.
// Weights are not used.
type Random struct {
	slow slowStart
	rng  *lockedRand
}

// NewRandom returns the random policy.
func NewRandom(cfg Config) *Random {
	return &Random{slow: slowStart{cfg.SlowStart}, rng: newLockedRand(cfg.Seed)}
}

// Pick draws a candidate; under slow start a ramping one is passed over with
// probability 1-f for the next in the list.
func (p *Random) Pick(_ *http.Request, candidates []*Upstream) *Upstream {
	n := len(candidates)
	if n == 0 {
		return nil
	}
	start := p.rng.IntN(n)
	if p.slow.window <= 0 {
		return candidates[start]
	}
	now := p.slow.now()
	for i := range n {
		if u := candidates[(start+i)%n]; p.slow.admit(u, now, p.rng) {
			return u
		}
	}
	return candidates[start]
}

var _ Balancer = (*Random)(nil)
