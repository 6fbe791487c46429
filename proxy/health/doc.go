// Package health decides which upstreams may take traffic, from two sources
// the reverse proxy combines through balance.Upstream:
//
//	        ┌──────────── Active: GET <url><Path> every Interval ± Jitter ──────────┐
//	        │   Rise successes in a row → SetHealthy(true)                          │
//	        │   Fall failures in a row  → SetHealthy(false)                         ▼
//	request ──▶ proxy ──▶ balance.Pick(available) ──▶ upstream ──▶ outcome ──▶ Outlier.Observe
//	                                                                              │
//	   Consecutive failures or ErrorRate over Window → Eject(now + BaseEjection×n, ≤ MaxEjection)
//	   unless MaxEjectedPercent of the pool is out already, or u is the last available server
//
// Active checks catch a server that is down while it gets no traffic; the
// outlier detector reacts within a few requests to a server that fails the
// traffic it does get. What counts as a failure is the proxy's decision.
package health
