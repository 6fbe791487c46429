package balance

import "net/http"

// P2C is the power of two choices: draw two different candidates at random
// and keep the one with fewer requests in flight (the first drawn on a tie).
// It never draws the same server twice when there are at least two. Weights
// are not used.
type P2C struct {
	slow slowStart
	rng  *lockedRand
}

// NewP2C returns the p2c policy.
func NewP2C(cfg Config) *P2C {
	return &P2C{slow: slowStart{cfg.SlowStart}, rng: newLockedRand(cfg.Seed)}
}

// Pick draws two distinct candidates and keeps the less loaded. Under slow
// start a ramping one is kept only with probability f; when neither passes,
// the less loaded is kept anyway.
func (p *P2C) Pick(_ *http.Request, candidates []*Upstream) *Upstream {
	n := len(candidates)
	switch n {
	case 0:
		return nil
	case 1:
		return candidates[0]
	}
	i := p.rng.IntN(n)
	j := p.rng.IntN(n - 1)
	if j >= i {
		j++
	}
	a, b := candidates[i], candidates[j]
	if b.InFlight() < a.InFlight() {
		a, b = b, a
	}
	if p.slow.window <= 0 {
		return a
	}
	now := p.slow.now()
	switch {
	case p.slow.admit(a, now, p.rng):
		return a
	case p.slow.admit(b, now, p.rng):
		return b
	default:
		return a
	}
}

var _ Balancer = (*P2C)(nil)
