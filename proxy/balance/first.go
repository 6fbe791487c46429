package balance

import "net/http"

// First picks the first candidate in configuration order: the others are
// spares that take traffic only while those before them are unavailable.
type First struct {
	slow slowStart
	rng  *lockedRand
}

// NewFirst returns the first policy.
func NewFirst(cfg Config) *First {
	return &First{slow: slowStart{cfg.SlowStart}, rng: newLockedRand(cfg.Seed)}
}

// Pick returns the first candidate; under slow start a ramping one is passed
// over with probability 1-f, so a recovered primary takes its traffic back
// gradually.
func (p *First) Pick(_ *http.Request, candidates []*Upstream) *Upstream {
	if len(candidates) == 0 {
		return nil
	}
	if p.slow.window <= 0 {
		return candidates[0]
	}
	now := p.slow.now()
	for _, u := range candidates {
		if p.slow.admit(u, now, p.rng) {
			return u
		}
	}
	return candidates[0]
}

var _ Balancer = (*First)(nil)
