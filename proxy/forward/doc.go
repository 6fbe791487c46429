// Package forward is proxylab's forward proxy: the clients' side knows it.
// It serves HTTP absolute-form requests ("GET http://server1/x"), CONNECT
// tunnels and SOCKS5 CONNECT, under one policy engine:
//
//	client ──▶ admit ──────────────────▶ decide ─────────────────────────▶ dial ──▶ relay
//	           rate_per_client (429)      port policy (CONNECT/SOCKS)       vetted IP:port only
//	           clients allow/deny (403)   deny / allow patterns (403)       or CONNECT via parent
//	           auth (407)                 parent selection (match)          http: upstream.Client pool
//	           Via loop (508)             connect_to mapping                per IP (http.Transport
//	           max_conns (503, Listener)  resolve ONCE (Resolver)           via a parent)
//	           max_tunnels (503)          SSRF guard: Classify every IP,    tunnel: io.Copy raw TCP
//	           max_body_bytes (413)       allow_nets, never self            (splice kept), half-close,
//	                                                                        idle timeout
//
// Every decision is one JSON line in the decision log (WithDecisionLog) and
// counts in the per-proxy Prometheus registry (Registry, MetricsHandler).
//
// # Never an open proxy by accident
//
// New (and Swap) refuse a Config that has neither auth, nor clients.allow,
// nor a destination allow list, unless Open is set explicitly. The rule does
// not depend on where the proxy listens: a loopback listener can still be
// reached through other local programs, and a rule that is the same
// everywhere is easier to test and to explain.
//
// # SSRF guard
//
// Modelled on stripe/smokescreen: the destination is resolved once, every
// address is classified (Classify), and the first address that passes is
// the one dialled, so a name cannot rebind between check and use. Loopback,
// private, link-local (cloud metadata), CGNAT, ULA, unspecified, multicast,
// broadcast, reserved and IPv4-embedding IPv6 addresses are refused, and so
// is the proxy's own listener, unless allow_nets opens the range on purpose.
// ParseAuthority reads the legacy IPv4 spellings (127.1, 2130706433,
// 0x7f000001, 0177.0.0.1) as the addresses they mean.
//
// # Parent proxies and their 407
//
// A destination matched by a Parent goes through it (absolute-form for
// http, CONNECT for tunnels) with the proxy's own parent credentials. The
// parent resolves names; IP literals are still classified here. When the
// parent answers 407 (or refuses a CONNECT in any way) the client gets that
// answer as it is — status, Proxy-Authenticate challenge, body — plus a
// Proxy-Status header naming the parent, rather than a generic 502 that
// would hide why the request failed.
package forward
