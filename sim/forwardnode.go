package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
)

// WorldNets are the ranges the world's servers and links live in; a forward
// node opens them to its SSRF guard on purpose, and nothing else: the rest of
// loopback (127.0.0.1, the proxy's own address) stays denied.
var WorldNets = []string{"127.0.1.0/24", "127.0.4.0/24", "127.0.11.0/24", "127.0.14.0/24"}

// ForwardNode is the built-in forward proxy as a world's proxy node. Clients
// name servers in URLs (http://server1/…); the node maps "server1:80" to the
// server's loopback address (ConnectTo) and allows WorldNets in its SSRF guard.
type ForwardNode struct {
	Config  forward.Config
	Options []forward.Option
	// Server tunes the listener; zero fields get proxy's defaults.
	Server proxy.ServerConfig
	// Parent, when set, is a second forward proxy this one chains every
	// request through (with the parent's first credentials, if it has any).
	// It starts first, on ParentHost, and resolves the servers' names itself.
	Parent *ForwardNode

	mu  sync.Mutex
	p   *forward.Proxy
	run serving
}

var (
	_ Proxy        = (*ForwardNode)(nil)
	_ PoolChanger  = (*ForwardNode)(nil)
	_ Reconfigurer = (*ForwardNode)(nil)
)

// Mode returns Forward.
func (n *ForwardNode) Mode() Mode { return Forward }

// Proxy returns the running forward proxy (nil before Start).
func (n *ForwardNode) Proxy() *forward.Proxy {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

// ForwardConfigFor fills cfg with the world's servers as ForwardNode describes.
func ForwardConfigFor(cfg forward.Config, topo Topology) forward.Config {
	ct := make(map[string]string, len(cfg.ConnectTo)+len(topo.Servers))
	for k, v := range cfg.ConnectTo {
		ct[k] = v
	}
	for _, u := range topo.Servers {
		ct[u.Name+":"+port(u)] = u.Addr
	}
	cfg.ConnectTo = ct
	nets := append([]string(nil), cfg.AllowNets...)
	for _, w := range WorldNets {
		if !slices.Contains(nets, w) {
			nets = append(nets, w)
		}
	}
	cfg.AllowNets = nets
	return cfg
}

// ParentHost is where a ForwardNode's parent listens.
const ParentHost = "127.0.3.2"

// Start builds the proxy for topo and starts serving on topo.Host:0.
func (n *ForwardNode) Start(ctx context.Context, topo Topology) error {
	cfg := ForwardConfigFor(n.Config, topo)
	if n.Parent != nil {
		pt := topo
		pt.Host = ParentHost
		if err := n.Parent.Start(ctx, pt); err != nil {
			return fmt.Errorf("parent proxy: %w", err)
		}
		par := forward.Parent{URL: "http://" + n.Parent.Addr()}
		if auth := n.Parent.Config.Auth; len(auth) > 0 {
			par.User, par.Pass = auth[0].User, auth[0].Pass
		}
		cfg.Parent = append([]forward.Parent{par}, cfg.Parent...)
		cfg.AllowNets = append(cfg.AllowNets, ParentHost+"/32")
	}
	p, err := forward.New(cfg, n.Options...)
	if err != nil {
		return err
	}
	if err := n.run.start(p, p, serverConfig(p.ServerConfig(), n.Server), topo.Host, p.Listener); err != nil {
		return err
	}
	n.mu.Lock()
	n.p = p
	n.mu.Unlock()
	return nil
}

// Addr returns the address clients connect to.
func (n *ForwardNode) Addr() string { return n.run.Addr() }

// Stop shuts the proxy (and its parent) down gracefully; it is idempotent.
func (n *ForwardNode) Stop(ctx context.Context) error {
	n.mu.Lock()
	n.p = nil
	n.mu.Unlock()
	err := n.run.stop(ctx)
	if n.Parent != nil {
		err = errors.Join(err, n.Parent.Stop(ctx))
	}
	return err
}

func (n *ForwardNode) swap(f func(*forward.Config)) error {
	p := n.Proxy()
	if p == nil {
		return errNotStarted
	}
	cfg := p.Config()
	f(&cfg)
	return p.Swap(cfg)
}

// AddServer makes a new server reachable by name.
func (n *ForwardNode) AddServer(ctx context.Context, u Upstream) error {
	if n.Parent != nil {
		if err := n.Parent.AddServer(ctx, u); err != nil {
			return err
		}
	}
	return n.swap(func(c *forward.Config) {
		if c.ConnectTo == nil {
			c.ConnectTo = map[string]string{}
		}
		c.ConnectTo[u.Name+":"+port(u)] = u.Addr
	})
}

// RemoveServer forgets a server's name.
func (n *ForwardNode) RemoveServer(ctx context.Context, name string) error {
	if n.Parent != nil {
		if err := n.Parent.RemoveServer(ctx, name); err != nil {
			return err
		}
	}
	return n.swap(func(c *forward.Config) {
		delete(c.ConnectTo, name+":80")
		delete(c.ConnectTo, name+":443")
	})
}

// DrainServer is not meaningful for a forward proxy: clients choose servers.
func (n *ForwardNode) DrainServer(context.Context, string) error {
	return errors.New("a forward proxy has no pool to drain: its clients choose the server")
}

// SetWeight is not meaningful for a forward proxy: clients choose servers.
func (n *ForwardNode) SetWeight(context.Context, string, int) error {
	return errors.New("a forward proxy has no pool to weigh: its clients choose the server")
}

// Reconfigure lays patch over the live configuration and swaps it in atomically.
func (n *ForwardNode) Reconfigure(_ context.Context, patch []byte, topo Topology) error {
	p := n.Proxy()
	if p == nil {
		return errNotStarted
	}
	var next forward.Config
	if err := overlay(p.Config(), patch, &next); err != nil {
		return err
	}
	return p.Swap(ForwardConfigFor(next, topo))
}

// port is the port a URL naming the server implies: 443 for HTTPS, else 80.
func port(u Upstream) string {
	if u.TLS {
		return "443"
	}
	return "80"
}
