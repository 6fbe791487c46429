// Package balance holds the pool member shared by the proxy, the health
// checkers and the admin API (Upstream), and the load-balancing policies that
// pick one of them per request (Balancer).
//
//	request ──▶ proxy filters the pool ──▶ candidates ──▶ Balancer.Pick ──▶ upstream
//	            (healthy, not draining,      (never empty)     │
//	             not ejected, breaker)                         └─▶ Responder.Chosen (sticky cookie)
//
// Policies are built by name with New from one registry (registry.go):
// round_robin, weighted_round_robin, least_conn, p2c, random,
// consistent_hash, sticky_cookie and first. Every policy is safe for
// concurrent use, takes its randomness from a math/rand/v2 generator seeded
// with Config.Seed, and honours Config.SlowStart (see slowstart.go for how
// each one applies it).
//
// Fairness measures how closely observed request counts follow the
// configured weights (Jain's index), for metrics and alerts.
package balance
