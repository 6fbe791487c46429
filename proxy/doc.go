// Package proxy holds what the forward and the reverse proxy share: the
// listener and server with every timeout and limit set (its own HTTP/1.1
// keep-alive loop on plain listeners, engine.go; net/http for TLS and
// HTTP/2), graceful shutdown that also closes hijacked connections
// (WebSocket, CONNECT tunnels), the hop-by-hop header rules and Via, the
// JSON access log, the Prometheus metrics, and the one mapping from errors
// to HTTP statuses.
//
//	client ──▶ Server (framing check, timeouts, idle deadlines, limits, hijack tracking)
//	              │
//	              ▼
//	          handler (proxy/reverse or proxy/forward)
//	              │  RemoveHopByHop · AddVia · ViaContains
//	              ├──▶ upstream
//	              │
//	              ├── error? ──▶ StatusFor(err) ──▶ WriteError
//	              └── AccessLog.Log(entry) · Metrics
package proxy
