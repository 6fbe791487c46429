// Package server is proxylab's programmable HTTP server: the serverN nodes of a
// world, and `proxylab serve` on its own.
//
// Every request goes through the same small pipeline. The knobs come from the
// server's Behaviour, overridden per request by query parameters
// (?latency=5ms:80,250ms:2&status=503:1&size=1KiB) or by the same names as
// X-Sim-* request headers (X-Sim-Latency, X-Sim-Chunk-Every, …), so proxies
// that rewrite paths still pass them on; the query parameter wins when both
// are given, and a bad value answers 400 with the parser's message.
//
//	request ──▶ receipt (OnRequest, Receipts) ──▶ knobs = Behaviour ⊕ X-Sim-* ⊕ query
//	                                                   │
//	     ┌─────────────────────────────────────────────┘
//	     ▼
//	  decisions drawn from Seed and the arrival number: stall, delay, status, size, reset, close
//	     │
//	  stall? ──yes──▶ hold until the client gives up or the server stops, then drop the connection
//	     │no
//	  delay ──▶ status + headers (X-Sim-Server, X-Sim-Delay, extra) ──▶ body
//	                                     (size filler | echo JSON; in chunks, dripped)
//	     ──▶ reset? (RST after half the body) ──▶ close? (Connection: close; GOAWAY on HTTP/2)
//
// Fixed paths: /echo returns the request as the server saw it (type Echo,
// headers in the order received on HTTP/1.x), /healthz answers 200 or 503
// from SetHealthy and ignores the knobs, /ws is a WebSocket echo and /sse a
// server-sent-events stream (?events=N&every=D). HTTP/1.1 and h2c (prior
// knowledge or Upgrade) share one listener.
//
// Faults act on the TCP connection: a reset or a stall dropped at stop resets
// the connection the request came on, which on HTTP/2 means every stream on it.
//
// Lifecycle: Start, then Stop (graceful: in-flight responses finish, stalls,
// streams and WebSockets end) or Crash (listener closed and every connection,
// hijacked ones included, reset at once); Recover listens again on the same
// address and port. Stats and Receipts survive crashes.
//
// All randomness comes from math/rand/v2 generators derived from Config.Seed
// and the request's arrival number, never from the global generator: the same
// seed and the same order of arrival give the same decisions.
package server
