// Package reverse is proxylab's reverse proxy: routes pick a pool, the pool's
// balancer picks a server, and each attempt goes to it over a keep-alive
// connection, with retries, circuit breakers, health checks and header
// hygiene. Plain HTTP/1.1 requests whose body is in memory take a direct
// path (fast.go) that writes and reads the upstream heads by hand on
// proxy/upstream's pooled connections; everything else (h2c and https
// servers, Upgrade/WebSocket, Expect, request trailers, streamed bodies) goes
// through httputil.ReverseProxy with Rewrite and the same attempts in its
// RoundTripper. Either way nothing is retried once a byte of the response
// (a 1xx included) has reached the client.
//
//	client ──▶ Proxy.ServeHTTP
//	             │ Via loop check (508) · route by host + longest path prefix (404/421)
//	             │ body limit (413) · keep body ≤ replay_bytes for retries (400 on bad framing)
//	             ├── plain HTTP/1.1, body in memory ──▶ serveFast (no Request clone, no contexts
//	             │      head written by hand: hop-by-hop   unless the upstream is slow)
//	             │      and Connection-listed fields out;
//	             │      X-Forwarded-*, Forwarded, Via      ┐
//	             ▼                                          │ same attempts:
//	           httputil.ReverseProxy (the rest)             │
//	             │ Rewrite: the same header rules           │
//	             ▼                                          │
//	           roundTripper ── attempt 1..N ────────────────┴──────────────┐
//	             │ pick: available servers, untried first, breaker limits   │ retry when safe:
//	             │ max_connections slot (FIFO queue ≤ max_pending)          │ dial failure; or idempotent
//	             │ per-try timeout · upstream.Client | http.Transport | h2c │ + timeout/reset/5xx listed;
//	             │ outcome ──▶ outlier.Observe · metrics                   │ budget · jittered backoff
//	             ▼                                                         │
//	           response copied (SSE and unknown lengths flushed at once,   │
//	           1xx passed, trailers, Upgrade tracked) ◀────────────────────┘
//	             │
//	             └─▶ access log (attempts, hosts tried) · Prometheus
//
// The direct path and the ReverseProxy path's plain attempts share one
// upstream.Client (connections pooled LIFO per address, checked with a
// non-blocking peek before reuse when a resend would not be safe); https
// and Expect: 100-continue go through http.Transport, h2c servers through an
// HTTP/2 prior-knowledge transport. WithStdTransport (CLI --std-transport)
// turns the direct path and upstream.Client off: everything goes through
// httputil and http.Transport.
//
// Runtime control (Pools, AddServer, RemoveServer, DrainServer, SetWeight,
// Swap) swaps immutable configuration generations atomically; a request
// keeps the generation and server it started with.
package reverse
