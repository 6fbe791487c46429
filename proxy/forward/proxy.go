package forward

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxylab/proxylab/proxy"
)

// Proxy is the forward proxy. It is an http.Handler for the HTTP listener
// (absolute-form requests and CONNECT) and serves SOCKS5 on listeners given
// to ServeSOCKS. Its policy can be changed at run time with Swap, SetAuth
// and SetACL; every request sees one policy from start to end.
type Proxy struct {
	pol        atomic.Pointer[policy]
	swapMu     sync.Mutex // serialises Swap/SetAuth/SetACL
	via        string     // pseudonym used when Config.Via is empty
	resolver   Resolver
	dialer     Dialer
	log        *slog.Logger
	metrics    *metrics
	registry   *prometheus.Registry
	transports sync.Map                      // "direct <timeout>" -> *directClients, "<parent URL> <timeout>" -> *http.Transport
	direct     atomic.Pointer[directClients] // the direct entry of transports, found without a key string
	rates      *clientRates
	addrs      addrStrings // "ip:port" of vetted addresses, for the upstream pools

	conns       atomic.Int64
	tunnelSlots atomic.Int64
	tunnels     tunnelSet
	handshakes  tunnelSet // SOCKS5 sessions not yet relaying
	selfMu      sync.RWMutex
	self        []netip.AddrPort

	ctx       context.Context // cancelled by Close; tunnels and SOCKS loops watch it
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// Option configures a Proxy at construction.
type Option func(*Proxy)

// WithResolver sets the resolver the SSRF guard uses; the default is
// net.DefaultResolver.
func WithResolver(r Resolver) Option { return func(p *Proxy) { p.resolver = r } }

// WithDialer sets how vetted addresses are dialled; the default is a
// net.Dialer with keep-alive.
func WithDialer(d Dialer) Option { return func(p *Proxy) { p.dialer = d } }

// WithLogger sets where the JSON decision log goes; the default discards it.
// One record per request or tunnel: decision, rule, client, user, target,
// the address dialled, status, bytes each way and duration.
func WithLogger(l *slog.Logger) Option { return func(p *Proxy) { p.log = l } }

// WithDecisionLog writes the decision log as JSON lines to w.
func WithDecisionLog(w io.Writer) Option {
	return WithLogger(slog.New(slog.NewJSONHandler(w, nil)))
}

// WithRegistry makes the proxy register its metrics on r instead of a
// registry of its own.
func WithRegistry(r *prometheus.Registry) Option { return func(p *Proxy) { p.registry = r } }

// New checks cfg, applies its defaults and builds the proxy. It refuses a
// config that would be an open proxy (no auth, no clients.allow, no allow)
// unless cfg.Open is true; see ErrOpenProxy.
func New(cfg Config, opts ...Option) (*Proxy, error) {
	p := &Proxy{
		resolver: net.DefaultResolver,
		dialer:   &net.Dialer{KeepAlive: DefaultDialTimeout * 3},
		log:      slog.New(slog.DiscardHandler),
		via:      "proxylab-" + randomSuffix(),
	}
	for _, o := range opts {
		o(p)
	}
	pol, err := compile(p.fill(cfg))
	if err != nil {
		return nil, err
	}
	if p.registry == nil {
		p.registry = prometheus.NewRegistry()
	}
	if p.metrics, err = newMetrics(p.registry, p); err != nil {
		return nil, fmt.Errorf("forward proxy metrics: %w", err)
	}
	p.pol.Store(pol)
	p.rates = newClientRates()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p, nil
}

// fill applies defaults and the instance's Via pseudonym.
func (p *Proxy) fill(cfg Config) Config {
	cfg = cfg.withDefaults()
	if cfg.Via == "" {
		cfg.Via = p.via
	}
	return cfg
}

// Config returns a copy of the policy in force, defaults applied.
func (p *Proxy) Config() Config { return p.pol.Load().cfg.clone() }

// Swap replaces the whole policy atomically. Requests and tunnels already
// admitted finish under the old policy; new ones see the new one. A bad
// config returns an error and leaves the old policy in force.
func (p *Proxy) Swap(cfg Config) error {
	p.swapMu.Lock()
	defer p.swapMu.Unlock()
	return p.swapLocked(cfg)
}

func (p *Proxy) swapLocked(cfg Config) error {
	pol, err := compile(p.fill(cfg))
	if err != nil {
		return err
	}
	p.pol.Store(pol)
	return nil
}

// SetAuth replaces the accepted credentials; nil removes authentication
// (refused if that would leave an open proxy).
func (p *Proxy) SetAuth(creds []Credential) error {
	p.swapMu.Lock()
	defer p.swapMu.Unlock()
	cfg := p.Config()
	cfg.Auth = creds
	return p.swapLocked(cfg)
}

// SetACL replaces the destination allow and deny patterns.
func (p *Proxy) SetACL(allow, deny []string) error {
	p.swapMu.Lock()
	defer p.swapMu.Unlock()
	cfg := p.Config()
	cfg.Allow, cfg.Deny = allow, deny
	return p.swapLocked(cfg)
}

// ServerConfig returns the client-side server settings the policy implies
// (the header read timeout and the body-read and write idle deadlines); serve the proxy with
// proxy.NewServer(p, p.ServerConfig()) on p.Listener(ln).
func (p *Proxy) ServerConfig() proxy.ServerConfig {
	t := p.pol.Load().cfg.Timeouts
	return proxy.ServerConfig{ReadHeaderTimeout: t.ClientHeader, BodyReadIdleTimeout: t.ClientBodyIdle, WriteIdleTimeout: t.ClientWriteIdle}
}

// Registry is the per-proxy Prometheus registry holding its metrics.
func (p *Proxy) Registry() *prometheus.Registry { return p.registry }

// Stats is a snapshot of the proxy's live counts.
type Stats struct {
	Conns   int64 `json:"conns"`   // client connections on wrapped listeners
	Tunnels int64 `json:"tunnels"` // open CONNECT and SOCKS5 tunnels
}

// Stats returns the live counts.
func (p *Proxy) Stats() Stats {
	return Stats{Conns: p.conns.Load(), Tunnels: int64(p.tunnels.len())}
}

// Close closes every open tunnel and idle upstream connection and stops
// SOCKS5 listeners. It does not stop the HTTP server serving the proxy.
// Close is idempotent.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		p.tunnels.closeAll()
		p.handshakes.closeAll()
		p.closeIdle()
	})
	return nil
}

// addSelf records a listener address so the guard refuses to dial it.
func (p *Proxy) addSelf(a net.Addr) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return
	}
	p.selfMu.Lock()
	p.self = append(p.self, ap)
	p.selfMu.Unlock()
}

// isSelf reports whether ap is one of the proxy's listeners: the local
// address of the current connection, or a listener it knows of. A listener on
// an unspecified address also owns every loopback address on its port.
func (p *Proxy) isSelf(ap, conn netip.AddrPort) bool {
	if conn.IsValid() && ap == unmapPort(conn) {
		return true
	}
	p.selfMu.RLock()
	defer p.selfMu.RUnlock()
	for _, s := range p.self {
		s = unmapPort(s)
		if s == ap || (s.Addr().IsUnspecified() && s.Port() == ap.Port() && (ap.Addr().IsLoopback() || ap.Addr().IsUnspecified())) {
			return true
		}
	}
	return false
}

func unmapPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
