// Package conformance is proxylab's security catalogue: the bad-input and
// fault cases an HTTP proxy must survive (docs/SECURITY.md), kept as data,
// and a raw-socket runner that probes any proxy listening on an address,
// proxylab's own or another one, and judges what it did.
//
// A probe writes bytes no well-behaved client would send, reads what comes
// back without trusting it, and asks a recording origin what reached it:
//
//	Case (raw request template, expectations)
//	  │ render: {target} {host} {auth} filled for the mode (reverse or forward)
//	  ▼
//	probe ──raw TCP──▶ proxy under test ──▶ Origin (records every request,
//	  │                     │                      answers per case: CL+TE,
//	  │                     └──▶ canary            truncated body, 101, 417…)
//	  │                          (loopback listener that must never be dialled)
//	  ▼
//	Observation: responses (status, framing), closed or not, what the origin
//	got (count, headers, complete bodies), canary dials
//	  │
//	  ▼
//	Result: pass · fail (each broken expectation named) · not applicable (why)
//
// Every request a case sends carries its case id in the path (/c/<id>/…), so
// the origin can tell which case a request belongs to, including requests
// smuggled behind another one. Cases run one after another on fresh
// connections; nothing but loopback addresses is ever asked for, so a probe
// cannot make the proxy under test reach another machine. With Config.TLS
// every connection to the proxy is a TLS client connection (an HTTPS proxy;
// StartBuiltinTLS serves proxylab's own that way), the HTTP/2 cases
// negotiating h2 by ALPN.
package conformance
