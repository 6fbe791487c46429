package forward

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/proxylab/proxylab/proxy"
)

// Defaults applied by Config.withDefaults to fields left at zero.
const (
	DefaultConnectPort     uint16        = 443
	DefaultDialTimeout     time.Duration = 10 * time.Second
	DefaultClientHeader    time.Duration = 10 * time.Second
	DefaultClientBody      time.Duration = 60 * time.Second
	DefaultTunnelIdle      time.Duration = 5 * time.Minute
	DefaultResponseHeader  time.Duration = 30 * time.Second
	DefaultRateBurstFactor               = 2 // burst = max(1, rate*factor)
	// DefaultMaxBodyBytes is the request body limit when limits.max_body_bytes
	// is zero: the reverse proxy's default.
	DefaultMaxBodyBytes = proxy.DefaultMaxBodyBytes
)

// ByteSize is a number of bytes, written in YAML exactly as for the reverse
// proxy: 1024, "64KiB", "10MiB", "1GB".
type ByteSize = proxy.ByteSize

// Config is the forward proxy's whole policy. It is the contract for scenario
// files (`proxy:` with mode forward) and for `proxylab proxy forward --config`.
// The zero value is the secure default: no open ranges, CONNECT to 443 only,
// the SSRF guard on, and New refuses it unless auth, an ACL or Open is set.
type Config struct {
	// Open must be true to run without auth, a client allow-list or a
	// destination allow-list. False (the default) makes New refuse such a
	// config so that nobody runs an open proxy by accident.
	Open bool `yaml:"open" json:"open"`
	// Auth lists the accepted Basic credentials. Empty means no
	// authentication. Credentials are checked, then removed: they are never
	// forwarded.
	Auth []Credential `yaml:"auth" json:"auth"`
	// Allow lists destination patterns; when non-empty, only destinations
	// that match one are served. Empty means every destination (subject to
	// Deny and the SSRF guard). See Pattern for the syntax.
	Allow []string `yaml:"allow" json:"allow"`
	// Deny lists destination patterns that are refused; Deny wins over Allow.
	Deny []string `yaml:"deny" json:"deny"`
	// Clients restricts who may use the proxy by source address.
	Clients ClientACL `yaml:"clients" json:"clients"`
	// AllowNets opens CIDR ranges to the SSRF guard on purpose (the simulated
	// world lives on 127/8). Empty means only public addresses are dialled.
	AllowNets []string `yaml:"allow_nets" json:"allow_nets"`
	// ConnectPorts lists the ports CONNECT and SOCKS5 may reach. Empty means
	// 443 only.
	ConnectPorts []uint16 `yaml:"connect_ports" json:"connect_ports"`
	// Parent lists upstream proxies; the first whose Match covers the
	// destination is used. Empty means every destination is dialled directly.
	Parent []Parent `yaml:"parent" json:"parent"`
	// ConnectTo maps a requested "host:port" to the "host:port" actually
	// dialled, like curl --connect-to. ACLs and the port policy see the
	// requested name; the SSRF guard classifies the mapped address.
	// Destinations routed through a parent are not mapped: the parent gets
	// the requested name. Empty means no mapping.
	ConnectTo map[string]string `yaml:"connect_to" json:"connect_to"`
	// Limits bounds connections, tunnels and request rates. Zero fields mean
	// unlimited.
	Limits Limits `yaml:"limits" json:"limits"`
	// Timeouts bounds each phase; zero fields get the Default… values.
	Timeouts Timeouts `yaml:"timeouts" json:"timeouts"`
	// Via is this proxy's pseudonym in Via headers and for loop detection.
	// Empty means "proxylab-" followed by a random suffix chosen by New, so
	// that two instances chained together never mistake each other for a loop.
	Via string `yaml:"via" json:"via"`
}

// Credential is one accepted user name and password.
type Credential struct {
	User string `yaml:"user" json:"user"`
	Pass string `yaml:"pass" json:"pass"`
}

// ClientACL filters clients by source address. Deny wins over Allow.
type ClientACL struct {
	// Allow lists CIDRs (or single IPs) that may connect; empty means all.
	Allow []string `yaml:"allow" json:"allow"`
	// Deny lists CIDRs (or single IPs) that are refused with 403.
	Deny []string `yaml:"deny" json:"deny"`
}

// Parent is an upstream HTTP proxy to chain through.
type Parent struct {
	// URL is the parent, "http://host:port". Required.
	URL string `yaml:"url" json:"url"`
	// User and Pass are sent to the parent as Proxy-Authorization Basic;
	// empty User means none. These are the proxy's own credentials, never the
	// client's.
	User string `yaml:"user" json:"user"`
	Pass string `yaml:"pass" json:"pass"`
	// Match lists destination patterns routed through this parent; empty
	// means every destination.
	Match []string `yaml:"match" json:"match"`
}

// Limits bounds what clients may use. Zero means unlimited, except for
// MaxBodyBytes.
type Limits struct {
	// MaxConns caps concurrent client connections on listeners wrapped with
	// Proxy.Listener; extra connections get 503 and are closed.
	MaxConns int `yaml:"max_conns" json:"max_conns"`
	// MaxTunnels caps concurrent CONNECT and SOCKS5 tunnels; extra ones get 503.
	MaxTunnels int `yaml:"max_tunnels" json:"max_tunnels"`
	// RatePerClient caps requests (and tunnels) per second per client IP;
	// extra ones get 429. The burst is twice the rate, at least 1.
	RatePerClient float64 `yaml:"rate_per_client" json:"rate_per_client"`
	// MaxBodyBytes caps absolute-form request bodies, as the reverse proxy's
	// limits.max_body_bytes does: a Content-Length over it gets 413 before
	// any dial; a chunked body that grows over it aborts the upstream
	// request (never completed) and gets 413 unless the response had begun.
	// CONNECT tunnels and SOCKS5 are not limited. Zero means
	// DefaultMaxBodyBytes (10 MiB); negative means no cap. YAML accepts
	// "10MiB", "64KiB", "1MB" or a number of bytes.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes" json:"max_body_bytes"`
}

// Timeouts bounds each phase of a request. Zero fields get defaults.
type Timeouts struct {
	// Dial bounds DNS resolution plus the TCP connect; zero means DefaultDialTimeout.
	Dial time.Duration `yaml:"dial" json:"dial"`
	// ClientHeader bounds reading a client's request header; zero means
	// DefaultClientHeader. The server that serves the proxy applies it.
	ClientHeader time.Duration `yaml:"client_header" json:"client_header"`
	// ClientBody bounds reading a whole request body, from the start of the
	// request (slow POST); past it the client gets 408 and the upstream
	// request is abandoned. Zero means DefaultClientBody.
	ClientBody time.Duration `yaml:"client_body" json:"client_body"`
	// ClientBodyIdle fails a request whose body sends no byte for this long
	// (the connection closes); every byte resets it. Zero means the server's
	// default (60s); negative means none.
	ClientBodyIdle time.Duration `yaml:"client_body_idle" json:"client_body_idle"`
	// ClientWriteIdle closes a client connection once a response write has
	// moved no byte for this long (a client that stops reading); every byte
	// resets it, so slow downloads are never cut. Zero means the server's
	// default (60s); negative means none. Tunnels have TunnelIdle instead.
	ClientWriteIdle time.Duration `yaml:"client_write_idle" json:"client_write_idle"`
	// TunnelIdle closes a tunnel after no byte moved either way for this
	// long (checked with up to one more period of slack); zero means
	// DefaultTunnelIdle.
	TunnelIdle time.Duration `yaml:"tunnel_idle" json:"tunnel_idle"`
	// ResponseHeader bounds the wait for an origin's response header; zero
	// means DefaultResponseHeader.
	ResponseHeader time.Duration `yaml:"response_header" json:"response_header"`
}

// withDefaults returns a copy with every zero field set to its default. It is
// the one place defaults are applied.
func (c Config) withDefaults() Config {
	c = c.clone()
	if len(c.ConnectPorts) == 0 {
		c.ConnectPorts = []uint16{DefaultConnectPort}
	}
	if c.Timeouts.Dial == 0 {
		c.Timeouts.Dial = DefaultDialTimeout
	}
	if c.Timeouts.ClientHeader == 0 {
		c.Timeouts.ClientHeader = DefaultClientHeader
	}
	if c.Timeouts.ClientBody == 0 {
		c.Timeouts.ClientBody = DefaultClientBody
	}
	if c.Timeouts.TunnelIdle == 0 {
		c.Timeouts.TunnelIdle = DefaultTunnelIdle
	}
	if c.Timeouts.ResponseHeader == 0 {
		c.Timeouts.ResponseHeader = DefaultResponseHeader
	}
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return c
}

// clone deep-copies the slices and maps so a caller can't mutate a live policy.
func (c Config) clone() Config {
	c.Auth = slices.Clone(c.Auth)
	c.Allow = slices.Clone(c.Allow)
	c.Deny = slices.Clone(c.Deny)
	c.Clients.Allow = slices.Clone(c.Clients.Allow)
	c.Clients.Deny = slices.Clone(c.Clients.Deny)
	c.AllowNets = slices.Clone(c.AllowNets)
	c.ConnectPorts = slices.Clone(c.ConnectPorts)
	c.Parent = slices.Clone(c.Parent)
	for i := range c.Parent {
		c.Parent[i].Match = slices.Clone(c.Parent[i].Match)
	}
	if c.ConnectTo != nil {
		m := make(map[string]string, len(c.ConnectTo))
		for k, v := range c.ConnectTo {
			m[k] = v
		}
		c.ConnectTo = m
	}
	return c
}

// ErrOpenProxy is returned (wrapped) by New and Swap for a config that would
// serve anyone anywhere without Open set.
var ErrOpenProxy = errors.New("refusing to run an open proxy: set auth, clients.allow or allow, or set open: true")

// Validate reports every problem in c at once, each naming the field and
// value. It also enforces the open-proxy rule.
func (c Config) Validate() error {
	_, err := compile(c.withDefaults())
	return err
}

// guarded reports whether c restricts who or where: the open-proxy rule.
func (c Config) guarded() bool {
	return len(c.Auth) > 0 || len(c.Clients.Allow) > 0 || len(c.Allow) > 0
}

func parsePrefixes(field string, in []string, errs *[]error) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		p, err := parsePrefix(s)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s[%d]: %q: want a CIDR such as 10.0.0.0/8 or an IP: %w", field, i, s, err))
			continue
		}
		out = append(out, p)
	}
	return out
}

// parsePrefix accepts "10.0.0.0/8" or a bare IP (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parseParentURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("scheme %q, want http", u.Scheme)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("want http://host:port with credentials in user/pass")
	}
	host, port, err := parseAuthority(u.Host, 80)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "http", Host: joinHostPort(host, port)}, nil
}
