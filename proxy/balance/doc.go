// Package balance holds the pool member shared by the proxy, the health
// checkers and the admin API (Upstream), and the load-balancing policies that
// pick one of them per request (Balancer).
//
//	pool ──AppendAvailable──▶ candidates ──Balancer.Pick──▶ upstream ──Acquire … Release
//	      (healthy, not draining,  (never empty)     │
//	       not ejected)                              └─▶ Responder.Chosen (sticky_cookie sets its cookie)
//
// Policies are built by name with New from one registry (registry.go):
//
//	round_robin           in turn; N×k picks give each of N servers exactly k
//	weighted_round_robin  nginx's smooth weighted round robin (5,1,1 → a a b a c a a)
//	least_conn            fewest in flight; ties round robin among the tied servers
//	p2c                   two distinct random candidates, the one with fewer in flight
//	random                uniform
//	consistent_hash       rendezvous hashing on Config.Key, weighted, with bounded load
//	sticky_cookie         HMAC'd server in a cookie; round robin and a new cookie otherwise
//	first                 the first candidate in configuration order
//
// Weights count in weighted_round_robin and consistent_hash only. least_conn,
// p2c and the load bound of consistent_hash read Upstream.InFlight, so the
// proxy must call Acquire when it sends a request and Release when it ends.
//
// Slow start (Config.SlowStart) applies to every policy. A server that
// became available less than SlowStart ago (Upstream.UpSince: created,
// healthy again, un-ejected) has the factor f = 0.1 + 0.9 × age/SlowStart.
// weighted_round_robin scales its weight by f; consistent_hash keeps a key on
// it only when a hash of (key, server) is below f, so a growing, stable set
// of its keys returns; the other policies pass it over with probability 1-f
// and take what their own rule gives next. A valid sticky cookie always
// wins. When every candidate is passed over, slow start is ignored for that
// pick.
//
// Every policy is safe for concurrent use and takes its randomness from its
// own math/rand/v2 generator seeded with Config.Seed, never the global one.
// Pick does not allocate for round_robin, weighted_round_robin, least_conn,
// p2c, random, consistent_hash (header and ip keys) or first.
//
// Fairness measures how closely observed request counts follow the
// configured weights (Jain's index), for metrics and alerts.
package balance
