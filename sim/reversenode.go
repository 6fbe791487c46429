package sim

import (
	"context"
	"fmt"
	"sync"

	"github.com/goccy/go-yaml"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/reverse"
)

// DefaultPool is the pool a reverse node puts the world's servers in when its
// configuration names no pool.
const DefaultPool = "default"

// ReverseNode is the built-in reverse proxy as a world's proxy node.
//
// With no pools in Config, it builds one pool named DefaultPool holding every
// server of the world and a route for any host to it. With pools given, a
// server entry whose URL is empty is filled from the world's server of that name.
type ReverseNode struct {
	Config  reverse.Config
	Options []reverse.Option
	// Server tunes the listener; zero fields get proxy's defaults.
	Server proxy.ServerConfig

	mu  sync.Mutex
	p   *reverse.Proxy
	run serving
}

var (
	_ Proxy        = (*ReverseNode)(nil)
	_ PoolChanger  = (*ReverseNode)(nil)
	_ Reconfigurer = (*ReverseNode)(nil)
)

// Mode returns Reverse.
func (n *ReverseNode) Mode() Mode { return Reverse }

// Proxy returns the running reverse proxy (nil before Start).
func (n *ReverseNode) Proxy() *reverse.Proxy {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

// Start builds the proxy for topo and starts serving on topo.Host:0.
func (n *ReverseNode) Start(_ context.Context, topo Topology) error {
	cfg := ReverseConfigFor(n.Config, topo)
	p, err := reverse.New(cfg, n.Options...)
	if err != nil {
		return err
	}
	if err := n.run.start(p, p, serverConfig(cfg.ServerConfig(), n.Server), topo.Host, nil); err != nil {
		return err
	}
	n.mu.Lock()
	n.p = p
	n.mu.Unlock()
	return nil
}

// serverConfig lays the non-zero fields of override over base.
func serverConfig(base, override proxy.ServerConfig) proxy.ServerConfig {
	if override.ReadHeaderTimeout != 0 {
		base.ReadHeaderTimeout = override.ReadHeaderTimeout
	}
	if override.ReadTimeout != 0 {
		base.ReadTimeout = override.ReadTimeout
	}
	if override.WriteTimeout != 0 {
		base.WriteTimeout = override.WriteTimeout
	}
	if override.IdleTimeout != 0 {
		base.IdleTimeout = override.IdleTimeout
	}
	if override.MaxHeaderBytes != 0 {
		base.MaxHeaderBytes = override.MaxHeaderBytes
	}
	if override.ShutdownTimeout != 0 {
		base.ShutdownTimeout = override.ShutdownTimeout
	}
	if override.MaxConcurrentStreams != 0 {
		base.MaxConcurrentStreams = override.MaxConcurrentStreams
	}
	base.H2C = base.H2C || override.H2C
	return base
}

// ReverseConfigFor fills cfg with the world's servers as ReverseNode
// describes: no pools → one DefaultPool; a pool with no servers gets every
// server of the world; a server entry with no URL gets its world address.
func ReverseConfigFor(cfg reverse.Config, topo Topology) reverse.Config {
	all := make([]reverse.ServerConfig, 0, len(topo.Servers))
	byName := map[string]Upstream{}
	for _, u := range topo.Servers {
		byName[u.Name] = u
		all = append(all, reverse.ServerConfig{Name: u.Name, URL: "http://" + u.Addr, Weight: u.Weight})
	}
	if len(cfg.Pools) == 0 {
		cfg.Pools = []reverse.PoolConfig{{Name: DefaultPool}}
	}
	pools := make([]reverse.PoolConfig, len(cfg.Pools))
	copy(pools, cfg.Pools)
	for i := range pools {
		if len(pools[i].Servers) == 0 {
			pools[i].Servers = append([]reverse.ServerConfig(nil), all...)
			continue
		}
		servers := append([]reverse.ServerConfig(nil), pools[i].Servers...)
		for j, s := range servers {
			if u, ok := byName[s.Name]; ok && s.URL == "" {
				servers[j].URL = "http://" + u.Addr
			}
		}
		pools[i].Servers = servers
	}
	cfg.Pools = pools
	if len(cfg.Routes) == 0 {
		cfg.Routes = []reverse.RouteConfig{{Host: "", Path: "/", Pool: cfg.Pools[0].Name}}
	}
	return cfg
}

// Addr returns the address clients connect to.
func (n *ReverseNode) Addr() string { return n.run.Addr() }

// Stop shuts the proxy down gracefully; it is idempotent.
func (n *ReverseNode) Stop(ctx context.Context) error {
	n.mu.Lock()
	n.p = nil
	n.mu.Unlock()
	return n.run.stop(ctx)
}

func (n *ReverseNode) pool() string {
	if p := n.Proxy(); p != nil {
		if cfg := p.Config(); len(cfg.Pools) > 0 {
			return cfg.Pools[0].Name
		}
	}
	return DefaultPool
}

// AddServer adds a server to the first pool.
func (n *ReverseNode) AddServer(_ context.Context, u Upstream) error {
	p := n.Proxy()
	if p == nil {
		return errNotStarted
	}
	return p.AddServer(n.pool(), reverse.ServerConfig{Name: u.Name, URL: "http://" + u.Addr, Weight: u.Weight})
}

// RemoveServer drains a server and takes it out of the first pool.
func (n *ReverseNode) RemoveServer(_ context.Context, name string) error {
	p := n.Proxy()
	if p == nil {
		return errNotStarted
	}
	return p.RemoveServer(n.pool(), name)
}

// DrainServer stops new requests to a server of the first pool.
func (n *ReverseNode) DrainServer(_ context.Context, name string) error {
	p := n.Proxy()
	if p == nil {
		return errNotStarted
	}
	return p.DrainServer(n.pool(), name)
}

// SetWeight changes a server's weight in the first pool.
func (n *ReverseNode) SetWeight(_ context.Context, name string, w int) error {
	p := n.Proxy()
	if p == nil {
		return errNotStarted
	}
	return p.SetWeight(n.pool(), name, w)
}

// Reconfigure lays patch over the live configuration and swaps it in atomically.
func (n *ReverseNode) Reconfigure(_ context.Context, patch []byte, _ Topology) error {
	p := n.Proxy()
	if p == nil {
		return errNotStarted
	}
	cur := p.Config()
	patch, err := poolShorthands(cur, patch)
	if err != nil {
		return err
	}
	var next reverse.Config
	if err := overlay(cur, patch, &next); err != nil {
		return err
	}
	return p.Swap(next)
}

// poolKeys may be written at the top of a reverse patch; they apply to the first pool.
var poolKeys = []string{"balance", "health", "outlier", "retries", "breaker"}

// poolShorthands moves pool keys written at the top of a patch into the first pool.
func poolShorthands(cur reverse.Config, patch []byte) ([]byte, error) {
	var top map[string]any
	if err := yaml.Unmarshal(patch, &top); err != nil {
		return nil, fmt.Errorf("decode config patch: %w", err)
	}
	moved := map[string]any{}
	for _, k := range poolKeys {
		if v, ok := top[k]; ok {
			if s, isName := v.(string); isName && k == "balance" {
				v = map[string]any{"policy": s}
			}
			moved[k] = v
			delete(top, k)
		}
	}
	if len(moved) == 0 || len(cur.Pools) == 0 {
		return patch, nil
	}
	pools, err := yaml.Marshal(cur.Pools)
	if err != nil {
		return nil, err
	}
	var list []map[string]any
	if err := yaml.Unmarshal(pools, &list); err != nil {
		return nil, err
	}
	list[0] = merge(list[0], moved)
	top["pools"] = list
	return yaml.Marshal(top)
}
