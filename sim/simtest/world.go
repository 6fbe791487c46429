package simtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/netfault"
	"github.com/proxylab/proxylab/sim/server"
)

// Defaults of a world built by Build or NewWorld.
const (
	// DefaultServers is how many servers (server1..N) a world gets when no
	// WithServers or WithServer option is given.
	DefaultServers = 3
	// DefaultClients is how many clients (cli1..N) a world gets when no
	// WithClients or WithClient option is given.
	DefaultClients = 3
	// DefaultClientTimeout bounds each simulated request unless
	// WithClientTimeout says otherwise.
	DefaultClientTimeout = 5 * time.Second
	// DefaultStopTimeout bounds the graceful stop NewWorld registers.
	DefaultStopTimeout = 10 * time.Second
)

// Option shapes a world built by Build or NewWorld.
type Option func(*worldConfig)

type serverSpec struct {
	cfg    server.Config
	weight int
}

type linkSpec struct {
	name, from, to string
	toxics         []netfault.Toxic
}

type worldConfig struct {
	opts    sim.Options
	servers []serverSpec
	clients []client.Config
	proxy   sim.Proxy
	links   []linkSpec
}

// WithSeed sets the world's seed, from which every random choice is derived.
func WithSeed(seed uint64) Option { return func(c *worldConfig) { c.opts.Seed = seed } }

// WithClientTimeout bounds each simulated request; zero means DefaultClientTimeout.
func WithClientTimeout(d time.Duration) Option {
	return func(c *worldConfig) { c.opts.ClientTimeout = d }
}

// WithServers adds n servers with weight 1 that answer 200 at once, named
// on from the servers already added (server1..n for the first call).
func WithServers(n int) Option {
	return func(c *worldConfig) {
		for range n {
			name := fmt.Sprintf("server%d", len(c.servers)+1)
			c.servers = append(c.servers, serverSpec{cfg: server.Config{Name: name}, weight: 1})
		}
	}
}

// WithServer adds one server as sim.World.AddServer does: an empty Addr
// gets the server's own loopback address on port 0, a zero Seed one derived
// from the world's. A weight of 0 counts as 1 for the built-in proxies.
func WithServer(cfg server.Config, weight int) Option {
	return func(c *worldConfig) { c.servers = append(c.servers, serverSpec{cfg: cfg, weight: weight}) }
}

// WithClients adds n clients named on from the clients already added.
func WithClients(n int) Option {
	return func(c *worldConfig) {
		for range n {
			c.clients = append(c.clients, client.Config{})
		}
	}
}

// WithClient adds one client as sim.World.AddClient does.
func WithClient(cfg client.Config) Option {
	return func(c *worldConfig) { c.clients = append(c.clients, cfg) }
}

// WithProxy makes p the world's proxy node: a *sim.ReverseNode, a
// *sim.ForwardNode, a *sim.ExternalNode (see Nginx), or a proxy of your own.
// Without it (or WithReverseProxy, WithForwardProxy) the clients talk to the
// servers directly.
func WithProxy(p sim.Proxy) Option { return func(c *worldConfig) { c.proxy = p } }

// WithReverseProxy makes the built-in reverse proxy the world's proxy. A
// config with no pools gets one pool of every server (see sim.ReverseNode).
func WithReverseProxy(cfg reverse.Config, opts ...reverse.Option) Option {
	return WithProxy(&sim.ReverseNode{Config: cfg, Options: opts})
}

// WithForwardProxy makes the built-in forward proxy the world's proxy;
// clients then name servers in URLs (http://server1/…).
func WithForwardProxy(cfg forward.Config, opts ...forward.Option) Option {
	return WithProxy(&sim.ForwardNode{Config: cfg, Options: opts})
}

// WithLink puts a fault-injecting link on the edge from → to (node names:
// cliN, proxy, serverN, or sim.AnyNode as from), as sim.World.AddLink does.
func WithLink(name, from, to string, toxics ...netfault.Toxic) Option {
	return func(c *worldConfig) {
		c.links = append(c.links, linkSpec{name: name, from: from, to: to, toxics: toxics})
	}
}

// normalize applies the defaults, in this one place.
func (c worldConfig) normalize() worldConfig {
	if len(c.servers) == 0 {
		WithServers(DefaultServers)(&c)
	}
	if len(c.clients) == 0 {
		WithClients(DefaultClients)(&c)
	}
	if c.opts.ClientTimeout == 0 {
		c.opts.ClientTimeout = DefaultClientTimeout
	}
	return c
}

// Build makes and starts a world on loopback (every listener on port 0).
// The caller stops it with World.Stop. With no options it has three servers,
// three clients and no proxy. On error nothing is left running.
func Build(ctx context.Context, opts ...Option) (*sim.World, error) {
	var c worldConfig
	for _, o := range opts {
		o(&c)
	}
	c = c.normalize()
	w := sim.New(c.opts)
	fail := func(err error) (*sim.World, error) {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultStopTimeout)
		defer cancel()
		return nil, errors.Join(err, w.Stop(stopCtx))
	}
	for _, s := range c.servers {
		if _, err := w.AddServer(ctx, s.cfg, s.weight); err != nil {
			return fail(err)
		}
	}
	for _, cc := range c.clients {
		if _, err := w.AddClient(cc); err != nil {
			return fail(err)
		}
	}
	if err := c.checkLinks(); err != nil {
		return fail(err)
	}
	for _, l := range c.links {
		if err := w.AddLink(l.name, l.from, l.to, l.toxics...); err != nil {
			return fail(fmt.Errorf("link %s: %w", l.name, err))
		}
	}
	if c.proxy != nil {
		w.SetProxy(c.proxy)
	}
	if err := w.Start(ctx); err != nil {
		return fail(fmt.Errorf("start the world: %w", err))
	}
	return w, nil
}

// checkLinks says which link names a node the world will not have.
func (c worldConfig) checkLinks() error {
	nodes := map[string]bool{"proxy": c.proxy != nil}
	for _, s := range c.servers {
		nodes[s.cfg.Name] = true
	}
	for i, cc := range c.clients {
		name := cc.Name
		if name == "" {
			name = fmt.Sprintf("cli%d", i+1)
		}
		nodes[name] = true
	}
	var errs []error
	for _, l := range c.links {
		if l.from != sim.AnyNode && !nodes[l.from] {
			errs = append(errs, fmt.Errorf("link %s: from %q is not a node of the world (a client, \"proxy\" or %q)", l.name, l.from, sim.AnyNode))
		}
		if !nodes[l.to] || l.to == l.from {
			errs = append(errs, fmt.Errorf("link %s: to %q is not a node of the world (a server or \"proxy\")", l.name, l.to))
		}
	}
	return errors.Join(errs...)
}

// NewWorld builds and starts a world inside a Ginkgo spec or setup node: a
// failure to start fails the spec, and DeferCleanup stops the world (within
// DefaultStopTimeout) when the spec ends.
func NewWorld(ctx context.Context, opts ...Option) *sim.World {
	ginkgo.GinkgoHelper()
	w, err := Build(ctx, opts...)
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), "build the world")
	ginkgo.DeferCleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
		defer cancel()
		gomega.Expect(w.Stop(stopCtx)).To(gomega.Succeed(), "stop the world")
	})
	return w
}
