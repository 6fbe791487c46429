// Package reverse is proxylab's reverse proxy: routes pick a pool, the pool's
// balancer picks a server, and each attempt goes through a keep-alive
// transport, with retries, circuit breakers, health checks and header
// hygiene. It is built on httputil.ReverseProxy with Rewrite; the attempts
// happen in its RoundTripper, so nothing is retried once a byte of the
// response has reached the client.
//
//	client ──▶ Proxy.ServeHTTP
//	             │ Via loop check (508) · route by host + longest path prefix (404/421)
//	             │ body limit (413) · keep body ≤ replay_bytes for retries (400 on bad framing)
//	             ▼
//	           httputil.ReverseProxy
//	             │ Rewrite: hop-by-hop, Upgrade: h2c, HTTP2-Settings stripped;
//	             │          X-Forwarded-*, Forwarded (trusted peers appended), Via
//	             ▼
//	           roundTripper ── attempt 1..N ───────────────────────────────┐
//	             │ pick: available servers, untried first, breaker limits   │ retry when safe:
//	             │ per-try timeout · fast h1 client | http.Transport | h2c  │ dial failure; or idempotent
//	             │ outcome ──▶ outlier.Observe · metrics                   │ + timeout/reset/5xx listed;
//	             ▼                                                         │ budget · jittered backoff
//	           response copied (SSE flushed at once, Upgrade tracked) ◀────┘
//	             │
//	             └─▶ access log (attempts, hosts tried) · Prometheus
//
// Plain HTTP/1.1 attempts go through a small client that runs the exchange
// in the request's goroutine (no per-connection read/write loops, pooled
// connections checked with a non-blocking peek before reuse); upgrades,
// Expect: 100-continue and https go through http.Transport, h2c servers
// through an HTTP/2 prior-knowledge transport. WithStdTransport (CLI
// --std-transport) sends everything through http.Transport.
//
// Runtime control (Pools, AddServer, RemoveServer, DrainServer, SetWeight,
// Swap) swaps immutable configuration generations atomically; a request
// keeps the generation and server it started with.
package reverse
