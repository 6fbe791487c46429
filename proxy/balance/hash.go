package balance

import (
	"math"
	"net/http"
)

// ConsistentHash sends requests with the same key to the same server, using
// rendezvous (highest random weight) hashing: every (key, server) pair gets a
// score and the key goes to the highest. Removing one of N servers moves only
// that server's keys, about 1/N of them; adding one takes about 1/(N+1).
// Weights count: a server's score is w / -ln(u) with u the pair's hash in
// (0,1), so a server of weight 2 wins about twice as many keys.
//
// Bounded load: with T requests in flight over N candidates, a server whose
// in-flight count would pass ceil(LoadFactor × (T+1) / N) is passed over for
// the next one in its key's order, so a hot key cannot overload one server.
// Requests without the key (no such header or cookie) go round robin.
type ConsistentHash struct {
	key        hashKey
	loadFactor float64
	slow       slowStart
	fallback   *RoundRobin
}

// NewConsistentHash returns the consistent_hash policy; cfg.Key must parse
// (see Config.Key) and cfg.LoadFactor must be 0 or at least 1.
func NewConsistentHash(cfg Config) (*ConsistentHash, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	k, err := parseKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	return &ConsistentHash{key: k, loadFactor: cfg.LoadFactor, slow: slowStart{cfg.SlowStart}, fallback: NewRoundRobin(cfg)}, nil
}

// Pick returns the highest-scoring candidate for r's key that is under the
// load bound (and, while ramping, holds the key under slow start).
func (p *ConsistentHash) Pick(r *http.Request, candidates []*Upstream) *Upstream {
	n := len(candidates)
	if n == 0 {
		return nil
	}
	key, ok := p.key.value(r)
	if !ok {
		return p.fallback.Pick(r, candidates)
	}
	kh := fnv64(key)
	var total int64
	sameWeight := true
	for _, u := range candidates {
		total += u.InFlight()
		sameWeight = sameWeight && u.Weight() == candidates[0].Weight()
	}
	limit := int64(math.Ceil(p.loadFactor * float64(total+1) / float64(n)))
	now := p.slow.now()

	var top, best *Upstream
	topScore, bestScore := math.Inf(-1), math.Inf(-1)
	for _, u := range candidates {
		h := mix64(kh ^ mix64(fnv64(u.Name)))
		// With equal weights the order of w / -ln(u) is the order of h:
		// skip the logarithm on the common path.
		score := float64(h)
		if !sameWeight {
			score = float64(u.Weight()) / -math.Log(unit(h))
		}
		if score > topScore {
			top, topScore = u, score
		}
		if score <= bestScore || u.InFlight()+1 > limit {
			continue
		}
		if p.slow.window > 0 && unit(mix64(h^0x5851f42d4c957f2d)) >= p.slow.factor(u, now) {
			continue
		}
		best, bestScore = u, score
	}
	if best == nil {
		return top
	}
	return best
}

var _ Balancer = (*ConsistentHash)(nil)
