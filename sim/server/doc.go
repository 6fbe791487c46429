// Package server is proxylab's programmable HTTP server: the serverN nodes of a
// world, and `proxylab serve` on its own.
//
// Every request goes through the same small pipeline. The knobs come from the
// server's Behaviour, overridden per request by query parameters
// (?latency=5ms:80,250ms:2&status=503:1&size=1KiB) or by the same names as
// X-Sim-* request headers, so proxies that rewrite paths still pass them on.
//
//	request ──▶ receipt (OnRequest, Receipts) ──▶ knobs = Behaviour ⊕ query ⊕ X-Sim-*
//	                                                   │
//	     ┌─────────────────────────────────────────────┘
//	     ▼
//	  stall? ──yes──▶ hold until the client gives up or the server stops
//	     │no
//	  latency ──▶ status ──▶ headers (X-Sim-Server + extra) ──▶ body
//	                                                  (size | echo JSON; chunked, drip)
//	     ──▶ reset? (RST after part of the body) ──▶ close? (Connection: close)
//
// Fixed paths: /echo returns the request as the server saw it (type Echo),
// /healthz answers 200 or 503 from SetHealthy and ignores the knobs, /ws is a
// WebSocket echo and /sse a server-sent-events stream. HTTP/1.1 and h2c share
// one listener.
//
// All randomness comes from math/rand/v2 generators derived from Config.Seed
// and the request's arrival number, never from the global generator.
package server
