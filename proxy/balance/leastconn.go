package balance

import (
	"net/http"
	"sync/atomic"
)

// LeastConn picks the candidate with the fewest requests in flight. Ties are
// broken round robin: the scan starts one place further at every pick, so
// idle servers share the load evenly. Weights are not used.
type LeastConn struct {
	next atomic.Uint64
	slow slowStart
	rng  *lockedRand
}

// NewLeastConn returns the least_conn policy.
func NewLeastConn(cfg Config) *LeastConn {
	return &LeastConn{slow: slowStart{cfg.SlowStart}, rng: newLockedRand(cfg.Seed)}
}

// Pick returns the least-loaded candidate; ramping servers are left out of
// the comparison with probability 1-f under slow start.
func (p *LeastConn) Pick(_ *http.Request, candidates []*Upstream) *Upstream {
	n := len(candidates)
	if n == 0 {
		return nil
	}
	start := int((p.next.Add(1) - 1) % uint64(n))
	now := p.slow.now()
	var best, fallback *Upstream
	var bestLoad, fallbackLoad int64
	for i := range n {
		u := candidates[(start+i)%n]
		load := u.InFlight()
		if fallback == nil || load < fallbackLoad {
			fallback, fallbackLoad = u, load
		}
		if (best == nil || load < bestLoad) && p.slow.admit(u, now, p.rng) {
			best, bestLoad = u, load
		}
	}
	if best == nil {
		return fallback
	}
	return best
}

var _ Balancer = (*LeastConn)(nil)
