package sim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/netfault"
	"github.com/proxylab/proxylab/sim/server"
)

// Options tune a World.
type Options struct {
	// Seed derives every random generator in the world; zero is a seed like any other.
	Seed uint64
	// ClientTimeout bounds every simulated request; zero means client.DefaultTimeout.
	ClientTimeout time.Duration
}

// World is one topology of clients, a proxy, servers and links, running on
// loopback. Its methods are safe for concurrent use.
type World struct {
	opts   Options
	addrs  addresses
	ledger *Ledger

	mu          sync.Mutex
	started     bool
	servers     map[string]*server.Server
	serverOrder []string
	weights     map[string]int
	clients     []*client.Client
	clientCfg   []client.Config
	links       map[string]*netfault.Link
	linkEnds    map[string][2]string // link name → from, to
	linkToxics  map[string][]netfault.Toxic
	proxy       Proxy
}

// New returns an empty world.
func New(opts Options) *World {
	return &World{
		opts:       opts,
		ledger:     NewLedger(time.Now()),
		servers:    map[string]*server.Server{},
		weights:    map[string]int{},
		links:      map[string]*netfault.Link{},
		linkEnds:   map[string][2]string{},
		linkToxics: map[string][]netfault.Toxic{},
	}
}

// Ledger returns the world's ledger.
func (w *World) Ledger() *Ledger { return w.ledger }

// Seed returns a generator seed derived from the world's seed and a label, so
// every component draws from a stream of its own.
func (w *World) Seed(label string) uint64 {
	h := w.opts.Seed ^ 0x9e3779b97f4a7c15
	for _, c := range []byte(label) {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	return h
}

// AddServer adds a server. An empty Addr gets the next 127.0.1.N:0, an empty
// Seed one derived from the world's, and OnRequest feeds the ledger. Added to a
// started world, the server starts at once and the proxy (if it can change
// its pool) is told.
func (w *World) AddServer(ctx context.Context, cfg server.Config, weight int) (*server.Server, error) {
	if cfg.Name == "" {
		return nil, errors.New("add server: a name is required")
	}
	w.mu.Lock()
	if _, dup := w.servers[cfg.Name]; dup {
		w.mu.Unlock()
		return nil, fmt.Errorf("add server %s: a node of that name exists", cfg.Name)
	}
	if cfg.Addr == "" {
		cfg.Addr = w.addrs.take(serverBlock) + ":0"
	}
	if cfg.Seed == 0 {
		cfg.Seed = w.Seed("server/" + cfg.Name)
	}
	user := cfg.OnRequest
	cfg.OnRequest = func(r server.Receipt) {
		w.ledger.Received(r)
		if user != nil {
			user(r)
		}
	}
	s, err := server.New(cfg)
	if err != nil {
		w.mu.Unlock()
		return nil, fmt.Errorf("add server %s: %w", cfg.Name, err)
	}
	w.servers[cfg.Name] = s
	w.serverOrder = append(w.serverOrder, cfg.Name)
	w.weights[cfg.Name] = weight
	w.ledger.KnowServer(cfg.Name)
	started, p := w.started, w.proxy
	w.mu.Unlock()
	if !started {
		return s, nil
	}
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %w", cfg.Name, err)
	}
	if pc, ok := p.(PoolChanger); ok {
		if err := pc.AddServer(ctx, w.upstream(cfg.Name)); err != nil {
			return s, fmt.Errorf("tell the proxy about %s: %w", cfg.Name, err)
		}
	}
	return s, nil
}

// AddClient adds a client. An empty Name becomes cliN, an empty SourceIP the
// next 127.0.2.N. In a forward world, a Proxy that is nil or has no host
// becomes the world's proxy (keeping the userinfo, the client's credentials).
func (w *World) AddClient(cfg client.Config) (*client.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("cli%d", len(w.clients)+1)
	}
	for _, c := range w.clients {
		if c.Name() == cfg.Name {
			return nil, fmt.Errorf("add client %s: a client of that name exists", cfg.Name)
		}
	}
	if cfg.SourceIP == "" {
		cfg.SourceIP = w.addrs.take(clientBlock)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = w.opts.ClientTimeout
	}
	c, err := w.buildClient(cfg)
	if err != nil {
		return nil, err
	}
	w.clients = append(w.clients, c)
	w.clientCfg = append(w.clientCfg, cfg)
	return c, nil
}

// buildClient fills in the proxy of a forward world once the proxy is known.
func (w *World) buildClient(cfg client.Config) (*client.Client, error) {
	if w.started && w.proxy != nil && w.proxy.Mode() == Forward && (cfg.Proxy == nil || cfg.Proxy.Host == "") {
		u := &url.URL{Scheme: "http", Host: w.reach(cfg.Name, "proxy", w.proxy.Addr())}
		if cfg.Proxy != nil {
			u.User = cfg.Proxy.User
		}
		cfg.Proxy = u
	}
	return client.New(cfg)
}

// SetProxy sets the proxy node; call it before Start.
func (w *World) SetProxy(p Proxy) {
	w.mu.Lock()
	w.proxy = p
	w.mu.Unlock()
}

// Proxy returns the proxy node, or nil.
func (w *World) Proxy() Proxy {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.proxy
}

// ProxyHost returns the loopback address the proxy listens on.
func (w *World) ProxyHost() string { return "127.0.3.1" }

// Start starts servers, links and the proxy, then rebuilds clients so a
// forward world's clients know the proxy.
func (w *World) Start(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("world already started")
	}
	servers := make([]*server.Server, 0, len(w.serverOrder))
	for _, n := range w.serverOrder {
		servers = append(servers, w.servers[n])
	}
	w.mu.Unlock()
	for _, s := range servers {
		if err := s.Start(); err != nil {
			return fmt.Errorf("start server %s: %w", s.Name(), err)
		}
	}
	if err := w.startLinks(); err != nil {
		return err
	}
	w.mu.Lock()
	p := w.proxy
	w.mu.Unlock()
	if p != nil {
		if err := p.Start(ctx, w.Topology()); err != nil {
			return fmt.Errorf("start proxy: %w", err)
		}
		if err := w.startLinks(); err != nil { // links towards the proxy need its address
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = true
	// Health probes may already be arriving: the ledger is reset, never replaced.
	w.ledger.Reset(time.Now())
	for i, cfg := range w.clientCfg {
		c, err := w.buildClient(cfg)
		if err != nil {
			return err
		}
		w.clients[i].Close()
		w.clients[i] = c
	}
	return nil
}

// Stop stops clients, the proxy, links and servers. It is idempotent.
func (w *World) Stop(ctx context.Context) error {
	w.mu.Lock()
	clients, p := w.clients, w.proxy
	servers := make([]*server.Server, 0, len(w.servers))
	for _, n := range w.serverOrder {
		servers = append(servers, w.servers[n])
	}
	links := make([]*netfault.Link, 0, len(w.links))
	for _, l := range w.links {
		links = append(links, l)
	}
	w.mu.Unlock()
	var errs []error
	for _, c := range clients {
		c.Close()
	}
	if p != nil {
		if err := p.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop proxy: %w", err))
		}
	}
	for _, l := range links {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range servers {
		if err := s.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Server returns the named server.
func (w *World) Server(name string) (*server.Server, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.servers[name]
	return s, ok
}

// ServerNames returns the servers' names in the order they were added.
func (w *World) ServerNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.serverOrder...)
}

// Clients returns the clients in the order they were added.
func (w *World) Clients() []*client.Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*client.Client(nil), w.clients...)
}

// Client returns the named client.
func (w *World) Client(name string) (*client.Client, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.clients {
		if c.Name() == name {
			return c, true
		}
	}
	return nil, false
}

// Topology describes the servers as the proxy must reach them.
func (w *World) Topology() Topology {
	w.mu.Lock()
	names := append([]string(nil), w.serverOrder...)
	w.mu.Unlock()
	t := Topology{Host: w.ProxyHost()}
	for _, n := range names {
		t.Servers = append(t.Servers, w.upstream(n))
	}
	return t
}

func (w *World) upstream(name string) Upstream {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.servers[name]
	return Upstream{Name: name, Addr: w.reach("proxy", name, s.Addr()), Weight: w.weights[name], TLS: strings.HasPrefix(s.URL(), "https:")}
}

// Do sends one request from the named client and records it in the ledger.
func (w *World) Do(ctx context.Context, clientName string, req client.Request) client.Outcome {
	c, ok := w.Client(clientName)
	if !ok {
		return client.Outcome{Client: clientName, ErrKind: client.ErrOther, Err: "no client named " + clientName}
	}
	return w.DoWith(ctx, c, req)
}

// DoWith sends one request from c and records it in the ledger.
func (w *World) DoWith(ctx context.Context, c *client.Client, req client.Request) client.Outcome {
	if req.ID == "" {
		req.ID = c.NextID()
	}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	w.ledger.Sent(req.ID, c.Name(), method, req.URL, req.Header, time.Now())
	out := c.Do(ctx, req)
	w.ledger.Done(out)
	return out
}

// TargetURL returns the base URL a client uses: a reverse world's proxy; in a
// forward world the URL names the server ("http://server1"), the proxy is on
// the client's transport.
func (w *World) TargetURL(clientName, serverName string) string {
	p := w.Proxy()
	if p == nil {
		s, ok := w.Server(serverName)
		if !ok {
			return ""
		}
		scheme, _, _ := strings.Cut(s.URL(), ":")
		return scheme + "://" + w.reach(clientName, serverName, s.Addr())
	}
	if p.Mode() == Forward {
		if s, ok := w.Server(serverName); ok && strings.HasPrefix(s.URL(), "https:") {
			return "https://" + serverName
		}
		return "http://" + serverName
	}
	return "http://" + w.reach(clientName, "proxy", p.Addr())
}

// WebSocket opens a WebSocket from c to url, exchanges messages echoes and
// records it in the ledger like any request.
func (w *World) WebSocket(ctx context.Context, c *client.Client, url string, messages int, id string) client.Outcome {
	if id == "" {
		id = c.NextID()
	}
	w.ledger.Sent(id, c.Name(), "GET", url, nil, time.Now())
	out := c.WebSocket(ctx, url, messages, id)
	w.ledger.Done(out)
	return out
}
