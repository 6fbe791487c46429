package balance

import (
	"net/http"
	"sync"
)

// weightScale turns a slow-start factor into integer weight steps: a ramping
// server of weight w counts as round(w × f × weightScale) against full
// servers' w × weightScale. Scaling every weight alike keeps the sequence of
// the smooth algorithm unchanged when nobody is ramping.
const weightScale = 1000

// WeightedRoundRobin is nginx's smooth weighted round robin: every pick adds
// each candidate's weight to its running score, takes the highest score and
// subtracts the total from it. Weights 5,1,1 give a a b a c a a, not
// a a a a a b c. Slow start scales a ramping server's weight by its factor.
type WeightedRoundRobin struct {
	slow slowStart

	mu    sync.Mutex
	state map[*Upstream]*wrrState
	picks uint64
}

// wrrState is one server's running score; seen is the pick that last met it,
// so servers that leave the pool can be forgotten.
type wrrState struct {
	current int64
	seen    uint64
}

// NewWeightedRoundRobin returns the weighted_round_robin policy.
func NewWeightedRoundRobin(cfg Config) *WeightedRoundRobin {
	return &WeightedRoundRobin{slow: slowStart{cfg.SlowStart}, state: make(map[*Upstream]*wrrState)}
}

// Pick returns the candidate with the highest running score.
func (p *WeightedRoundRobin) Pick(_ *http.Request, candidates []*Upstream) *Upstream {
	if len(candidates) == 0 {
		return nil
	}
	now := p.slow.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.picks++
	var (
		best  *wrrState
		bestU *Upstream
		total int64
	)
	for _, u := range candidates {
		s := p.state[u]
		if s == nil {
			s = &wrrState{}
			p.state[u] = s
		}
		s.seen = p.picks
		w := int64(u.Weight()) * weightScale
		if p.slow.window > 0 {
			if f := p.slow.factor(u, now); f < 1 {
				w = max(1, int64(float64(w)*f+0.5))
			}
		}
		s.current += w
		total += w
		if best == nil || s.current > best.current {
			best, bestU = s, u
		}
	}
	best.current -= total
	if len(p.state) > 2*len(candidates)+16 {
		p.forget()
	}
	return bestU
}

// forget drops servers that were not among the candidates of the last pick.
func (p *WeightedRoundRobin) forget() {
	for u, s := range p.state {
		if s.seen != p.picks {
			delete(p.state, u)
		}
	}
}

var _ Balancer = (*WeightedRoundRobin)(nil)
