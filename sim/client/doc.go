// Package client is a simulated client, one of cli1..N in the drawings.
//
// A client has a name and its own loopback source address (127.0.2.N), so a
// proxy sees distinct client IPs and ip-hash, X-Forwarded-For and source ACLs
// mean something. It talks either straight to a URL (a reverse proxy or a
// server) or through a forward proxy set explicitly on its transport (Go's
// environment proxy settings skip loopback, so they are never used).
//
//	cli1 (127.0.2.1) ──▶ [forward proxy] ──▶ URL
//
// Every request carries a unique id header (X-Proxylab-Id: cli1-42) and ends
// in an Outcome: status, error kind, latency and the server that answered. Do
// never returns a Go error: a failed request is data.
package client
