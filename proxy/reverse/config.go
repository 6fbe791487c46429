package reverse

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/health"
)

// Defaults applied by Config.withDefaults for zero fields.
const (
	DefaultDialTimeout           = 2 * time.Second
	DefaultResponseHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout           = 90 * time.Second
	DefaultClientHeaderTimeout   = 10 * time.Second
	DefaultMaxHeaderBytes        = 64 << 10
	DefaultMaxBodyBytes          = proxy.DefaultMaxBodyBytes
	DefaultReplayBytes           = 64 << 10
	DefaultAttempts              = 2
	DefaultBackoff               = 10 * time.Millisecond
	DefaultRetryBudget           = 0.2
	DefaultMinRetryConcurrency   = 3
	DefaultDrainTimeout          = 30 * time.Second
	DefaultMaxIdleConnsPerHost   = 256
	DefaultVia                   = "proxylab"
)

// DefaultRetryOn are the retry conditions when RetryConfig.On is empty.
var DefaultRetryOn = []string{"connect", "timeout", "reset", "502", "503", "504"}

// ServerConfig is one upstream server: name, URL (http://, https:// or h2c://)
// and weight (0 means 1).
type ServerConfig = proxy.UpstreamSpec

// Config is the whole reverse proxy configuration. It is the contract of
// scenario files and of --config; every zero value means the default named on
// its field.
type Config struct {
	// Listen is the client-facing address; used by the CLI only.
	Listen string `yaml:"listen"`
	// Admin is the admin API address; used by the CLI only. Empty means none.
	Admin string `yaml:"admin"`
	// Routes map host and path prefix to a pool. Only configured routes
	// match: a request matching none gets 404. Host "" matches any host.
	Routes []RouteConfig `yaml:"routes"`
	// Pools are the named groups of upstream servers.
	Pools    []PoolConfig   `yaml:"pools"`
	Timeouts TimeoutsConfig `yaml:"timeouts"`
	Limits   LimitsConfig   `yaml:"limits"`
	// TrustedProxies are the peers (CIDRs or addresses) whose
	// X-Forwarded-*/Forwarded headers are kept and appended to. Empty means
	// none: client values are always replaced.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Via is the pseudonym added to Via and used for loop detection. Empty
	// means "proxylab"; "-" turns Via off.
	Via string `yaml:"via"`
	// RetryHeader adds X-Proxylab-Retries (attempts and hosts tried) to
	// responses. False means off.
	RetryHeader bool `yaml:"retry_header"`
	// H2C serves cleartext HTTP/2 (prior knowledge) to clients beside
	// HTTP/1.1. False means HTTP/1.1 only on plain listeners.
	H2C bool `yaml:"h2c"`
	// DrainTimeout bounds how long RemoveServer waits for in-flight requests.
	// Zero means DefaultDrainTimeout (30s).
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// RouteConfig sends requests for Host whose path starts with Path to Pool.
type RouteConfig struct {
	// Host is matched case-insensitively without port; "" matches any host.
	Host string `yaml:"host"`
	// Path is a prefix; "" and "/" match every path. "/api" matches /api and
	// /api/… but not /apix. The longest matching prefix wins.
	Path string `yaml:"path"`
	// Pool names the pool serving the route. Required.
	Pool string `yaml:"pool"`
}

// PoolConfig is one pool of upstream servers and how it is used.
type PoolConfig struct {
	Name    string         `yaml:"name"`
	Balance balance.Config `yaml:"balance"`
	Servers []ServerConfig `yaml:"servers"`
	// Health configures active checks; nil means none (servers stay healthy).
	Health *HealthConfig `yaml:"health"`
	// Outlier configures passive ejection; nil means off.
	Outlier *OutlierConfig `yaml:"outlier"`
	Retries RetryConfig    `yaml:"retries"`
	Breaker BreakerConfig  `yaml:"breaker"`
}

// HealthConfig is the active health check of a pool (path, interval,
// jitter, timeout, expect, rise, fall); see health.ActiveConfig for defaults.
type HealthConfig = health.ActiveConfig

// OutlierConfig is passive ejection (consecutive, error_rate, base_ejection,
// max_ejected_percent, …); see health.OutlierConfig for defaults.
type OutlierConfig = health.OutlierConfig

// RetryConfig says when and how often a failed attempt is tried again.
type RetryConfig struct {
	// Attempts is the total number of tries including the first; 0 means 2,
	// 1 turns retries off.
	Attempts int `yaml:"attempts"`
	// PerTryTimeout bounds each try until response headers; 0 means only
	// the pool's response_header timeout applies.
	PerTryTimeout time.Duration `yaml:"per_try_timeout"`
	// Backoff is the base wait before a retry, jittered in [b/2, b·1.5) and
	// doubled each retry; 0 means 10ms; negative means none.
	Backoff time.Duration `yaml:"backoff"`
	// Budget is the share of the pool's live requests that may be retries
	// at once (at least 3 are always allowed); 0 means 0.2; negative means
	// no budget.
	Budget float64 `yaml:"budget"`
	// On lists retry conditions: "connect" (dial failed, always safe),
	// "timeout", "reset" (the connection broke before a response) and
	// upstream statuses such as "502". Empty means connect, timeout, reset,
	// 502, 503, 504. Anything but connect is retried only
	// for idempotent requests (GET HEAD OPTIONS PUT DELETE TRACE, or with an
	// Idempotency-Key) whose body could be kept for replay.
	On []string `yaml:"on"`
}

// BreakerConfig limits the load on each server of the pool; a server at a
// limit is skipped, and when all are, the client gets 503 breaker_open.
type BreakerConfig struct {
	// MaxConnections caps the connections to one server busy with a
	// request at once (HTTP/1.1 carries one exchange per connection); 0
	// means no cap. A request that finds them all busy waits for one in a
	// FIFO queue (up to the per-try, else the response header timeout) if
	// MaxPending allows, and gets 503 breaker_open otherwise.
	MaxConnections int `yaml:"max_connections"`
	// MaxPending caps the requests to one server waiting for a connection:
	// queued behind MaxConnections, or dialing a new one on the direct
	// HTTP/1.1 path. A request over the cap gets 503 breaker_open and is
	// never sent. 0 means no cap on dialing, and that none may queue when
	// MaxConnections is set.
	MaxPending int `yaml:"max_pending"`
	// MaxRequests caps concurrent requests to one server; 0 means no cap.
	MaxRequests int `yaml:"max_requests"`
}

// TimeoutsConfig are the upstream and client timeouts.
type TimeoutsConfig struct {
	// Dial bounds connecting to an upstream; 0 means 2s.
	Dial time.Duration `yaml:"dial"`
	// ResponseHeader bounds waiting for upstream response headers after the
	// request is sent; 0 means 10s.
	ResponseHeader time.Duration `yaml:"response_header"`
	// Idle closes pooled upstream connections idle this long; 0 means 90s.
	// It is also the client keep-alive idle timeout.
	Idle time.Duration `yaml:"idle"`
	// ClientHeader bounds reading a client's request headers; 0 means 10s.
	ClientHeader time.Duration `yaml:"client_header"`
	// ClientBody bounds reading a whole client request (headers and body);
	// 0 means no bound beyond ClientHeader.
	ClientBody time.Duration `yaml:"client_body"`
	// ClientBodyIdle fails a request whose body sends no byte for this long
	// (the connection closes); every byte resets it, so slow but moving
	// uploads are never cut. 0 means 60s; negative means none.
	ClientBodyIdle time.Duration `yaml:"client_body_idle"`
	// ClientWriteIdle closes a client connection once a response write has
	// moved no byte for this long (a client that stops reading); every byte
	// resets it, so slow downloads and event streams are never cut. 0 means
	// 60s; negative means none.
	ClientWriteIdle time.Duration `yaml:"client_write_idle"`
}

// LimitsConfig are size limits.
type LimitsConfig struct {
	// MaxHeaderBytes caps request headers (431 beyond); 0 means 64 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxBodyBytes caps request bodies (413 beyond); 0 means 10 MiB;
	// negative means no cap. YAML accepts "10MiB", "64KiB", "1MB", bytes.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// ReplayBytes is the largest body kept in memory so a retry can resend
	// it; 0 means 64 KiB; negative means never keep bodies.
	ReplayBytes ByteSize `yaml:"replay_bytes"`
	// MaxIdleConnsPerHost caps pooled keep-alive connections per upstream;
	// 0 means 256 (Go's own default of 2 causes dial churn).
	MaxIdleConnsPerHost int `yaml:"max_idle_conns_per_host"`
}

// ByteSize is a number of bytes written as 1024, "64KiB", "10MiB", "1GB"
// (proxy.ByteSize).
type ByteSize = proxy.ByteSize

// ParseByteSize parses "123", "64KiB", "10MiB", "1GiB", "1KB", "2MB".
func ParseByteSize(s string) (ByteSize, error) { return proxy.ParseByteSize(s) }

// ParseConfig decodes a YAML (or JSON, a subset of YAML) configuration and
// validates it. Errors name the bad value and the expected form.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict()); err != nil {
		return Config{}, fmt.Errorf("reverse proxy config: %s", yaml.FormatError(err, false, true))
	}
	if _, err := c.withDefaults(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem of c at once, or nil.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults returns c with zero fields replaced by defaults and checks it.
// It is the one place defaults are applied.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	t := &c.Timeouts
	t.Dial = orDuration(t.Dial, DefaultDialTimeout)
	t.ResponseHeader = orDuration(t.ResponseHeader, DefaultResponseHeaderTimeout)
	t.Idle = orDuration(t.Idle, DefaultIdleTimeout)
	t.ClientHeader = orDuration(t.ClientHeader, DefaultClientHeaderTimeout)
	l := &c.Limits
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.ReplayBytes == 0 {
		l.ReplayBytes = DefaultReplayBytes
	}
	if l.MaxIdleConnsPerHost <= 0 {
		l.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if c.Via == "" {
		c.Via = DefaultVia
	}
	c.DrainTimeout = orDuration(c.DrainTimeout, DefaultDrainTimeout)
	for _, p := range c.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			bad("trusted_proxies: %w", err)
		}
	}

	pools := make(map[string]bool, len(c.Pools))
	c.Pools = append([]PoolConfig(nil), c.Pools...)
	for i := range c.Pools {
		p := &c.Pools[i]
		where := fmt.Sprintf("pools[%d] (%s)", i, p.Name)
		if p.Name == "" {
			bad("pools[%d]: name is empty: want a unique name such as web", i)
		} else if pools[p.Name] {
			bad("%s: duplicate pool name %q", where, p.Name)
		}
		pools[p.Name] = true
		if _, err := balance.New(p.Balance); err != nil {
			bad("%s: %w", where, err)
		}
		names := map[string]bool{}
		for j, s := range p.Servers {
			if _, err := parseServer(s); err != nil {
				bad("%s: servers[%d]: %w", where, j, err)
			}
			if names[s.Name] {
				bad("%s: servers[%d]: duplicate server name %q", where, j, s.Name)
			}
			names[s.Name] = true
		}
		r := &p.Retries
		if r.Attempts == 0 {
			r.Attempts = DefaultAttempts
		}
		if r.Attempts < 0 {
			bad("%s: retries.attempts %d: want 0 (default %d) or a positive count", where, r.Attempts, DefaultAttempts)
		}
		r.Backoff = orDuration(r.Backoff, DefaultBackoff)
		if r.Budget == 0 {
			r.Budget = DefaultRetryBudget
		}
		if len(r.On) == 0 {
			r.On = DefaultRetryOn
		}
		for _, on := range r.On {
			if on == "connect" || on == "timeout" || on == "reset" {
				continue
			}
			if code, err := strconv.Atoi(on); err != nil || code < 400 || code > 599 {
				bad("%s: retries.on %q: want connect, timeout, reset or a status code 400-599", where, on)
			}
		}
		if p.Health != nil {
			a, err := health.NewActive(*p.Health, func() []*balance.Upstream { return nil })
			if err != nil {
				bad("%s: health: %w", where, err)
			} else {
				a.Stop()
			}
		}
		if p.Outlier != nil {
			if _, err := health.NewOutlier(*p.Outlier, func() []*balance.Upstream { return nil }); err != nil {
				bad("%s: outlier: %w", where, err)
			}
		}
		if b := p.Breaker; b.MaxConnections < 0 || b.MaxPending < 0 || b.MaxRequests < 0 {
			bad("%s: breaker limits must be 0 (unlimited) or positive", where)
		}
	}
	for i, r := range c.Routes {
		if r.Pool == "" {
			bad("routes[%d]: pool is empty: want the name of a pool", i)
		} else if !pools[r.Pool] {
			bad("routes[%d]: pool %q is not defined under pools", i, r.Pool)
		}
		if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
			bad("routes[%d]: path %q: want a prefix starting with /", i, r.Path)
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("reverse proxy config: %w", errors.Join(errs...))
	}
	return c, nil
}

// ServerConfig returns the client-facing server settings of c for
// proxy.NewServer.
func (c Config) ServerConfig() proxy.ServerConfig {
	d, _ := c.withDefaults()
	return proxy.ServerConfig{
		ReadHeaderTimeout:   d.Timeouts.ClientHeader,
		ReadTimeout:         d.Timeouts.ClientBody,
		BodyReadIdleTimeout: d.Timeouts.ClientBodyIdle,
		WriteIdleTimeout:    d.Timeouts.ClientWriteIdle,
		IdleTimeout:         d.Timeouts.Idle,
		MaxHeaderBytes:      d.Limits.MaxHeaderBytes,
		H2C:                 d.H2C,
	}
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// parseServer checks a server spec and returns its target URL, with h2c://
// turned into http:// (the caller keeps the h2c choice).
func parseServer(s ServerConfig) (*url.URL, error) {
	if s.Name == "" {
		return nil, fmt.Errorf("name is empty: want a unique name such as server1")
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("server %s: url %q: want scheme://host:port with scheme http, https or h2c", s.Name, s.URL)
	}
	switch u.Scheme {
	case "http", "https", "h2c":
	default:
		return nil, fmt.Errorf("server %s: url %q: scheme %q: want http, https or h2c", s.Name, s.URL, u.Scheme)
	}
	if s.Weight < 0 {
		return nil, fmt.Errorf("server %s: weight %d: want 0 (means 1) or positive", s.Name, s.Weight)
	}
	return u, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q: want a CIDR such as 127.0.0.1/32 or an address", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q: want a CIDR such as 127.0.0.1/32 or an address", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
