package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
)

// DefaultClientTimeout bounds each simulated request when a scenario sets none.
const DefaultClientTimeout = 5 * time.Second

// SkipError says a scenario cannot run on this machine, and why.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// buildWorld makes the world a scenario describes (not started).
func buildWorld(ctx context.Context, sc *Scenario, seed uint64, extOut *bytes.Buffer) (*sim.World, error) {
	timeout := sc.Clients.Timeout.D()
	if timeout == 0 {
		timeout = DefaultClientTimeout
	}
	w := sim.New(sim.Options{Seed: seed, ClientTimeout: timeout})
	for _, s := range sc.Servers {
		if err := addServer(ctx, w, s); err != nil {
			return nil, err
		}
	}
	specs := sc.Clients.List
	if len(specs) == 0 {
		for _, n := range sc.ClientNames() {
			specs = append(specs, ClientSpec{Name: n})
		}
	}
	for i, cs := range specs {
		cfg, err := clientConfig(sc.Clients.ClientSpec, cs, i)
		if err != nil {
			return nil, err
		}
		if _, err := w.AddClient(cfg); err != nil {
			return nil, err
		}
	}
	for _, l := range sc.Links {
		from := l.From
		if from == "clients" {
			from = sim.AnyNode
		}
		if err := w.AddLink(l.Name, from, l.To, l.Toxics...); err != nil {
			return nil, err
		}
	}
	p, err := proxyNode(sc, extOut)
	if err != nil {
		return nil, err
	}
	if p != nil {
		w.SetProxy(p)
	}
	return w, nil
}

func addServer(ctx context.Context, w *sim.World, s ServerSpec) error {
	srv, err := w.AddServer(ctx, server.Config{Name: s.Name, Behaviour: s.Behaviour.Clone(), TLS: s.TLS}, s.Weight)
	if err != nil {
		return err
	}
	if s.Unhealthy {
		srv.SetHealthy(false)
	}
	return nil
}

func clientConfig(defaults, cs ClientSpec, i int) (client.Config, error) {
	name := cs.Name
	if name == "" {
		name = fmt.Sprintf("cli%d", i+1)
	}
	cfg := client.Config{
		Name:             name,
		DisableKeepAlive: cs.NoKeepAlive || defaults.NoKeepAlive,
		Timeout:          cs.Timeout.D(),
		H2C:              cs.H2C || defaults.H2C,
		Cookies:          cs.Cookies || defaults.Cookies,
		// Simulated HTTPS servers use throwaway certificates.
		InsecureTLS: true,
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaults.Timeout.D()
	}
	auth := cs.Auth
	if auth == "" {
		auth = defaults.Auth
	}
	if auth != "" {
		user, pass, _ := strings.Cut(auth, ":")
		cfg.Proxy = &url.URL{User: url.UserPassword(user, pass)}
	}
	return cfg, nil
}

// proxyNode builds the scenario's proxy node; nil for mode none.
func proxyNode(sc *Scenario, extOut *bytes.Buffer) (sim.Proxy, error) {
	switch {
	case sc.Proxy.Reverse != nil:
		return &sim.ReverseNode{Config: reverseConfig(sc.Proxy.Reverse)}, nil
	case sc.Proxy.Forward != nil:
		n := &sim.ForwardNode{Config: sc.Proxy.Forward.Config}
		if pp := sc.Proxy.Forward.ParentProxy; pp != nil {
			n.Parent = &sim.ForwardNode{Config: *pp}
		}
		return n, nil
	case sc.Proxy.External != nil:
		e := sc.Proxy.External
		prog := e.Program
		if prog == "" {
			prog = e.Command[0]
		}
		if _, err := exec.LookPath(e.Command[0]); err != nil {
			hint := e.Install
			if hint == "" {
				hint = "install " + prog + " and run again"
			}
			return nil, &SkipError{Reason: fmt.Sprintf("%s is not installed (%s)", prog, hint)}
		}
		return &sim.ExternalNode{
			Name: prog, As: sim.Mode(e.As), Command: e.Command, Config: e.Config, ConfigName: e.ConfigName,
			Reload: e.Reload, ReadyTimeout: e.Ready.D(), Stderr: extOut, Vars: e.Vars,
		}, nil
	}
	return nil, nil
}

// reverseConfig applies the pool shorthands of a reverse spec to its default pool.
func reverseConfig(r *ReverseSpec) reverse.Config {
	cfg := r.Config
	if len(cfg.Pools) == 0 {
		cfg.Pools = []reverse.PoolConfig{{Name: sim.DefaultPool}}
	} else {
		cfg.Pools = append([]reverse.PoolConfig(nil), cfg.Pools...)
	}
	p := &cfg.Pools[0]
	if r.Balance.Set {
		p.Balance = r.Balance.Config
	}
	if r.Health != nil {
		p.Health = r.Health
	}
	if r.Outlier != nil {
		p.Outlier = r.Outlier
	}
	if r.Retries != nil {
		p.Retries = *r.Retries
	}
	if r.Breaker != nil {
		p.Breaker = *r.Breaker
	}
	return cfg
}
