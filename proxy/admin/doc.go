// Package admin is the runtime control API of a proxy, HTTP+JSON, served on
// its own listener (never the proxy's):
//
//	GET    /healthz                              → {"status":"ok"}
//	GET    /pools                                → {"pools":[…]}
//	GET    /pools/{pool}                         → one pool
//	POST   /pools/{pool}/servers                 ← {"name","url","weight"}   → 201
//	DELETE /pools/{pool}/servers/{name}          drains, then removes
//	POST   /pools/{pool}/servers/{name}/drain    no new requests
//	DELETE /pools/{pool}/servers/{name}/drain    back in rotation (if supported)
//	PUT    /pools/{pool}/servers/{name}/weight   ← {"weight":N} or N
//	PUT    /config                               ← YAML or JSON; 400 keeps the old one
//	GET    /metrics                              Prometheus exposition
//
// Errors are {"error":"…"} with 400 (bad input), 404 (unknown pool or
// server), 409 (name taken) or 500. The proxy is reached through Target,
// which the reverse proxy implements and the forward proxy may too.
package admin
