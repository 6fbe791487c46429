package balance

import (
	"net/http"
	"sync/atomic"
	"time"
)

// LeastConn picks the candidate with the fewest requests in flight. Ties are
// broken round robin among the tied servers, so idle servers share the load
// evenly even when a busy one sits between them. Weights are not used.
type LeastConn struct {
	next atomic.Uint64
	slow slowStart
	rng  *lockedRand
}

// NewLeastConn returns the least_conn policy.
func NewLeastConn(cfg Config) *LeastConn {
	return &LeastConn{slow: slowStart{cfg.SlowStart}, rng: newLockedRand(cfg.Seed)}
}

// Pick returns the least-loaded candidate. Under slow start each ramping
// server is left out of this pick with probability 1-f; if that leaves no
// candidate, slow start is ignored for the pick.
func (p *LeastConn) Pick(_ *http.Request, candidates []*Upstream) *Upstream {
	n := len(candidates)
	if n == 0 {
		return nil
	}
	g := p.gate()
	least, ties := p.least(candidates, g)
	if ties == 0 { // slow start left nobody in
		g = gate{}
		least, ties = p.least(candidates, g)
	}
	t := int((p.next.Add(1) - 1) % uint64(ties))
	for i, u := range candidates {
		if u.InFlight() == least && g.admit(i, u) {
			if t == 0 {
				return u
			}
			t--
		}
	}
	// In-flight counts moved between the two passes: take the least now.
	best := candidates[0]
	for _, u := range candidates[1:] {
		if u.InFlight() < best.InFlight() {
			best = u
		}
	}
	return best
}

// least returns the smallest in-flight count among the admitted candidates
// and how many of them have it.
func (p *LeastConn) least(candidates []*Upstream, g gate) (least int64, ties int) {
	for i, u := range candidates {
		if !g.admit(i, u) {
			continue
		}
		switch load := u.InFlight(); {
		case ties == 0 || load < least:
			least, ties = load, 1
		case load == least:
			ties++
		}
	}
	return least, ties
}

// gate decides slow-start admission once per pick, so that two passes over
// the candidates agree: candidate i is admitted when a hash of (draw, i)
// falls below its factor. The zero gate admits everyone.
type gate struct {
	slow slowStart
	draw uint64
	now  time.Time
}

func (p *LeastConn) gate() gate {
	if p.slow.window <= 0 {
		return gate{}
	}
	return gate{slow: p.slow, draw: p.rng.Uint64(), now: p.slow.now()}
}

func (g gate) admit(i int, u *Upstream) bool {
	if g.slow.window <= 0 {
		return true
	}
	f := g.slow.factor(u, g.now)
	return f >= 1 || unit(mix64(g.draw+uint64(i)*0x9e3779b97f4a7c15)) < f
}

var _ Balancer = (*LeastConn)(nil)
