package forward

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// policy is a compiled, immutable Config. The proxy holds one behind an
// atomic pointer; Swap builds a new one and replaces it in one store.
type policy struct {
	cfg          Config // with defaults applied
	users        map[string]string
	allow, deny  []Pattern
	allowByIP    bool // Allow holds CIDR patterns, so a name may pass on its resolved IP
	clientAllow  []netip.Prefix
	clientDeny   []netip.Prefix
	allowNets    []netip.Prefix
	connectPorts map[uint16]bool
	parents      []parentRoute
	connectTo    map[hostPort]hostPort // key: canonical host and port
	via          viaTokens
}

type parentRoute struct {
	url        *url.URL // http://host:port, no credentials
	user, pass string
	auth       string // Proxy-Authorization value for CONNECT, or ""
	match      []Pattern
}

// hostPort is a destination as parsed: a canonical host and a port. It is a
// map key without formatting "host:port".
type hostPort struct {
	host string
	port uint16
}

// compile checks every field of c (defaults already applied) and returns the
// compiled policy, or every problem joined into one error.
func compile(c Config) (*policy, error) {
	var errs []error
	p := &policy{cfg: c, users: make(map[string]string, len(c.Auth)), via: newViaTokens(c.Via)}
	for i, cr := range c.Auth {
		switch {
		case cr.User == "":
			errs = append(errs, fmt.Errorf("auth[%d]: empty user, want user and pass", i))
		case strings.ContainsAny(cr.User, ":\r\n"):
			errs = append(errs, fmt.Errorf("auth[%d]: user %q must not contain ':' or line breaks", i, cr.User))
		default:
			p.users[cr.User] = cr.Pass
		}
	}
	p.allow = compilePatterns("allow", c.Allow, &errs)
	p.deny = compilePatterns("deny", c.Deny, &errs)
	for _, pat := range p.allow {
		p.allowByIP = p.allowByIP || pat.isCIDR() || pat.any
	}
	p.clientAllow = parsePrefixes("clients.allow", c.Clients.Allow, &errs)
	p.clientDeny = parsePrefixes("clients.deny", c.Clients.Deny, &errs)
	p.allowNets = parsePrefixes("allow_nets", c.AllowNets, &errs)
	p.connectPorts = make(map[uint16]bool, len(c.ConnectPorts))
	for i, port := range c.ConnectPorts {
		if port == 0 {
			errs = append(errs, fmt.Errorf("connect_ports[%d]: 0, want 1-65535", i))
		}
		p.connectPorts[port] = true
	}
	for i, par := range c.Parent {
		u, err := parseParentURL(par.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("parent[%d].url: %q: %w", i, par.URL, err))
			continue
		}
		r := parentRoute{url: u, user: par.User, pass: par.Pass, match: compilePatterns(fmt.Sprintf("parent[%d].match", i), par.Match, &errs)}
		if par.User != "" {
			r.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(par.User+":"+par.Pass))
		}
		p.parents = append(p.parents, r)
	}
	p.connectTo = make(map[hostPort]hostPort, len(c.ConnectTo))
	for from, to := range c.ConnectTo {
		fh, fp, err := ParseAuthority(from)
		if err != nil {
			errs = append(errs, fmt.Errorf("connect_to: key %q: want host:port: %w", from, err))
			continue
		}
		th, tp, err := ParseAuthority(to)
		if err != nil {
			errs = append(errs, fmt.Errorf("connect_to[%q]: %q: want host:port: %w", from, to, err))
			continue
		}
		p.connectTo[hostPort{fh, fp}] = hostPort{th, tp}
	}
	if l := c.Limits; l.MaxConns < 0 || l.MaxTunnels < 0 || l.RatePerClient < 0 {
		errs = append(errs, fmt.Errorf("limits: %+v: want values >= 0 (0 = unlimited)", l))
	}
	t := c.Timeouts
	if t.Dial < 0 || t.ClientHeader < 0 || t.ClientBody < 0 || t.TunnelIdle < 0 || t.ResponseHeader < 0 {
		errs = append(errs, fmt.Errorf("timeouts: %+v: want durations >= 0", t))
	}
	if !c.Open && !c.guarded() {
		errs = append(errs, ErrOpenProxy)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("forward proxy config: %w", errors.Join(errs...))
	}
	return p, nil
}

// clientAllowed applies the source-address ACL.
func (p *policy) clientAllowed(a netip.Addr) (bool, string) {
	a = a.Unmap()
	for _, pre := range p.clientDeny {
		if pre.Contains(a) {
			return false, "clients.deny " + pre.String()
		}
	}
	if len(p.clientAllow) == 0 {
		return true, ""
	}
	for _, pre := range p.clientAllow {
		if pre.Contains(a) {
			return true, "clients.allow " + pre.String()
		}
	}
	return false, "clients.allow (no match)"
}

// parentFor returns the first parent whose Match covers host:port.
func (p *policy) parentFor(host string, port uint16) *parentRoute {
	for i := range p.parents {
		r := &p.parents[i]
		if len(r.match) == 0 {
			return r
		}
		for _, m := range r.match {
			if m.MatchName(host, port) {
				return r
			}
		}
	}
	return nil
}
