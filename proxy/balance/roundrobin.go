package balance

import (
	"net/http"
	"sync/atomic"
)

// RoundRobin hands requests to the candidates in turn. With a fixed candidate
// list, N×k picks give each of the N exactly k.
type RoundRobin struct {
	next atomic.Uint64
	slow slowStart
	rng  *lockedRand
}

// NewRoundRobin returns the round_robin policy.
func NewRoundRobin(cfg Config) *RoundRobin {
	return &RoundRobin{slow: slowStart{cfg.SlowStart}, rng: newLockedRand(cfg.Seed)}
}

// Pick returns the next candidate in turn, passing over ramping servers
// with probability 1-f under slow start.
func (p *RoundRobin) Pick(_ *http.Request, candidates []*Upstream) *Upstream {
	n := len(candidates)
	if n == 0 {
		return nil
	}
	start := int((p.next.Add(1) - 1) % uint64(n))
	if p.slow.window <= 0 {
		return candidates[start]
	}
	now := p.slow.now()
	for i := range n {
		u := candidates[(start+i)%n]
		if p.slow.admit(u, now, p.rng) {
			return u
		}
	}
	return candidates[start]
}

var _ Balancer = (*RoundRobin)(nil)
