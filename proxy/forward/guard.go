package forward

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
)

// Resolver looks up a host name. *net.Resolver satisfies it; tests inject
// stubs (including ones that rebind between calls).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer opens connections. *net.Dialer satisfies it. The proxy only ever
// passes it an IP:port the guard has vetted, never a name.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// DialerFunc lets a plain function act as a Dialer.
type DialerFunc func(ctx context.Context, network, address string) (net.Conn, error)

// DialContext calls f.
func (f DialerFunc) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return f(ctx, network, address)
}

// route is where an allowed request goes: either a vetted address to dial
// directly, or a parent proxy to hand the original authority to.
type route struct {
	host   string         // requested host, canonical
	port   uint16         // requested port
	dial   netip.AddrPort // vetted address (direct routes)
	parent *parentRoute   // non-nil when chained
	rule   string         // what allowed it
}

// target is the requested authority as the client wrote it, canonical.
func (r route) target() string { return joinHostPort(r.host, r.port) }

// decide runs the destination policy for host:port: port policy (tunnels
// only), deny and allow patterns, parent selection, connect_to, one DNS
// resolution, and the SSRF classification of every resolved address. It
// resolves at most once and returns the vetted address that must be dialled.
func (p *Proxy) decide(ctx context.Context, pol *policy, host string, port uint16, tunnel bool, self netip.AddrPort) (route, *Denial) {
	rt := route{host: host, port: port}
	if tunnel && !pol.connectPorts[port] {
		return rt, deny(http.StatusForbidden, "destination_ip_prohibited", "connect_ports",
			"port %d is not in connect_ports %v", port, pol.cfg.ConnectPorts)
	}
	for i, pat := range pol.deny {
		if pat.MatchName(host, port) {
			return rt, deny(http.StatusForbidden, "http_request_denied", fmt.Sprintf("deny[%d] %s", i, pat),
				"%s is denied by %q", rt.target(), pat.String())
		}
	}
	nameAllowed := len(pol.allow) == 0
	rt.rule = "default"
	for i, pat := range pol.allow {
		if pat.MatchName(host, port) {
			nameAllowed, rt.rule = true, fmt.Sprintf("allow[%d] %s", i, pat)
			break
		}
	}
	if !nameAllowed && !pol.allowByIP {
		return rt, deny(http.StatusForbidden, "http_request_denied", "allow (no match)",
			"%s matches no allow pattern", rt.target())
	}
	if par := pol.parentFor(host, port); par != nil {
		rt.parent = par
		// The parent resolves names; literal IPs are still classified here.
		if a, err := netip.ParseAddr(host); err == nil {
			if d := p.vet(pol, a, port, netip.AddrPort{}); d != nil {
				return rt, d
			}
		} else if !nameAllowed {
			return rt, deny(http.StatusForbidden, "http_request_denied", "allow (no match)",
				"%s matches no allow pattern and its address is resolved by the parent", rt.target())
		}
		return rt, nil
	}
	dialHost, dialPort := host, port
	if m, ok := pol.connectTo[hostPort{host, port}]; ok {
		dialHost, dialPort = m.host, m.port
	}
	var literal [1]netip.Addr // an IP literal needs no slice on the heap
	addrs, d := p.resolve(ctx, pol, dialHost, literal[:0])
	if d != nil && !nameAllowed {
		// Only an address could have allowed it, and there is none: that is
		// a policy refusal, not a gateway error.
		return rt, deny(http.StatusForbidden, "http_request_denied", "allow (no match)",
			"%s matches no allow pattern", rt.target())
	}
	if d != nil {
		return rt, d
	}
	var first *Denial
	for _, a := range addrs {
		d := p.checkIP(pol, a, dialPort, port, nameAllowed, self)
		if d == nil {
			rt.dial = netip.AddrPortFrom(a, dialPort)
			if !nameAllowed {
				rt.rule = "allow (by address)"
			}
			return rt, nil
		}
		if first == nil {
			first = d
		}
	}
	return rt, first
}

// checkIP applies the address-level rules to one resolved address: deny and
// allow CIDRs (on the requested port), then the SSRF guard on the dialled one.
func (p *Proxy) checkIP(pol *policy, a netip.Addr, dialPort, reqPort uint16, nameAllowed bool, self netip.AddrPort) *Denial {
	for i, pat := range pol.deny {
		if pat.MatchIP(a, reqPort) {
			return deny(http.StatusForbidden, "destination_ip_prohibited", fmt.Sprintf("deny[%d] %s", i, pat),
				"address %s is denied by %q", a, pat.String())
		}
	}
	if !nameAllowed {
		ok := false
		for _, pat := range pol.allow {
			ok = ok || pat.MatchIP(a, reqPort)
		}
		if !ok {
			return deny(http.StatusForbidden, "http_request_denied", "allow (no match)",
				"address %s matches no allow pattern", a)
		}
	}
	return p.vet(pol, a, dialPort, self)
}

// vet is the SSRF guard for one address: it must not be the proxy itself and
// must be public or inside allow_nets.
func (p *Proxy) vet(pol *policy, a netip.Addr, port uint16, self netip.AddrPort) *Denial {
	ap := netip.AddrPortFrom(a, port)
	if p.isSelf(ap, self) {
		return deny(http.StatusForbidden, "destination_ip_prohibited", "ssrf self",
			"%s is this proxy's own listener", ap)
	}
	class := Classify(a)
	if class.Public() {
		return nil
	}
	for _, pre := range pol.allowNets {
		if pre.Contains(a) {
			return nil
		}
	}
	return deny(http.StatusForbidden, "destination_ip_prohibited", "ssrf "+class.String(),
		"address %s is %s and not in allow_nets", a, class)
}

// resolve turns a host into addresses: literals as they are (appended to
// buf), names through the Resolver, once, bounded by the dial timeout.
func (p *Proxy) resolve(ctx context.Context, pol *policy, host string, buf []netip.Addr) ([]netip.Addr, *Denial) {
	if a, err := netip.ParseAddr(host); err == nil {
		return append(buf, a), nil
	}
	ctx, cancel := context.WithTimeout(ctx, pol.cfg.Timeouts.Dial)
	defer cancel()
	addrs, err := p.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, &Denial{Status: http.StatusBadGateway, Kind: "dns_error", Rule: "dns",
			Detail: "cannot resolve " + host, Err: err}
	}
	if len(addrs) == 0 {
		return nil, deny(http.StatusBadGateway, "dns_error", "dns", "%s has no addresses", host)
	}
	return addrs, nil
}

// dialVetted dials an address the guard vetted, bounded by the dial timeout.
func (p *Proxy) dialVetted(ctx context.Context, pol *policy, ap netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, pol.cfg.Timeouts.Dial)
	defer cancel()
	return p.dialer.DialContext(ctx, "tcp", ap.String())
}

var (
	_ Resolver = (*net.Resolver)(nil)
	_ Dialer   = (*net.Dialer)(nil)
	_ Dialer   = DialerFunc(nil)
)
