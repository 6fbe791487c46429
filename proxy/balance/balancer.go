package balance

import (
	"net/http"
)

// Balancer picks the upstream for one request among candidates, which the
// caller has already filtered to the available ones (healthy, not draining,
// not ejected, breaker closed). candidates is never empty; Pick returns one of
// its elements, or nil only when the policy refuses every candidate.
type Balancer interface {
	Pick(r *http.Request, candidates []*Upstream) *Upstream
}

// BalancerFunc lets a plain function act as a Balancer.
type BalancerFunc func(r *http.Request, candidates []*Upstream) *Upstream

// Pick calls f.
func (f BalancerFunc) Pick(r *http.Request, candidates []*Upstream) *Upstream {
	return f(r, candidates)
}

// Responder is an optional capability: a policy that must tell the client
// something (a sticky cookie) once the upstream is chosen.
type Responder interface {
	Chosen(w http.ResponseWriter, r *http.Request, u *Upstream)
}
