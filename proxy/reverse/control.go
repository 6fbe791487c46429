package reverse

import (
	"fmt"
	"net/http"

	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/health"
)

// Runtime control. These methods are what the admin API and the scenario
// runner call. Each is safe for concurrent use, and none loses an in-flight
// request: a request keeps the configuration generation and the server it
// started with until it ends.

// PoolStatus is the live state of one pool (see proxy.PoolStatus).
type PoolStatus = proxy.PoolStatus

// Pools returns every pool with the live state of its servers, in
// configuration order.
func (p *Proxy) Pools() []PoolStatus {
	st := p.state.Load()
	now := time.Now()
	out := make([]PoolStatus, 0, len(st.order))
	for _, pl := range st.order {
		out = append(out, pl.status(now))
	}
	return out
}

// AddServer adds a server to a pool; it takes traffic at once (healthy until
// an active check says otherwise). Errors: proxy.ErrNotFound for an unknown
// pool, proxy.ErrExists for a name already in it, or a bad spec.
func (p *Proxy) AddServer(poolName string, s ServerConfig) error {
	if _, err := parseServer(s); err != nil {
		return fmt.Errorf("add server to pool %s: %w", poolName, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, err := p.pool(poolName)
	if err != nil {
		return err
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.find(s.Name) != nil {
		return fmt.Errorf("add server %s to pool %s: %w", s.Name, poolName, proxy.ErrExists)
	}
	srv, err := p.newServer(pl.name, s)
	if err != nil {
		return err
	}
	list := append(append([]*server(nil), pl.list()...), srv)
	pl.setServers(list)
	return nil
}

// RemoveServer drains a server (no new requests), waits until its in-flight
// requests finish or the drain timeout passes, then removes it from the pool.
// It returns an error if requests were still in flight at the timeout (the
// server is removed anyway; those requests still finish).
func (p *Proxy) RemoveServer(poolName, name string) error {
	p.mu.Lock()
	pl, err := p.pool(poolName)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	s := pl.find(name)
	if s == nil {
		p.mu.Unlock()
		return fmt.Errorf("server %s in pool %s: %w", name, poolName, proxy.ErrNotFound)
	}
	s.up.SetDraining(true)
	timeout := p.state.Load().cfg.DrainTimeout
	p.mu.Unlock()

	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	for s.up.InFlight() > 0 && time.Now().Before(deadline) {
		<-tick.C
	}
	tick.Stop()
	left := s.up.InFlight()

	p.mu.Lock()
	defer p.mu.Unlock()
	// The pool may have been swapped meanwhile; remove from the current one.
	if cur, err := p.pool(poolName); err == nil {
		pl = cur
	}
	pl.mu.Lock()
	list := make([]*server, 0, len(pl.list()))
	for _, x := range pl.list() {
		if x.up != s.up {
			list = append(list, x)
		}
	}
	pl.setServers(list)
	pl.mu.Unlock()
	if left > 0 {
		return fmt.Errorf("remove server %s from pool %s: removed with %d requests still in flight after the %v drain timeout", name, poolName, left, timeout)
	}
	return nil
}

// DrainServer stops sending new requests to a server; in-flight ones finish.
// The server stays listed with state "draining" until removed; UndrainServer
// puts it back in rotation.
func (p *Proxy) DrainServer(poolName, name string) error {
	return p.withServer(poolName, name, func(s *server) { s.up.SetDraining(true) })
}

// UndrainServer puts a drained server back in rotation.
func (p *Proxy) UndrainServer(poolName, name string) error {
	return p.withServer(poolName, name, func(s *server) { s.up.SetDraining(false) })
}

// SetWeight changes a server's weight; 0 or less means 1.
func (p *Proxy) SetWeight(poolName, name string, w int) error {
	if w < 0 {
		return fmt.Errorf("set weight of %s in pool %s: weight %d: want 0 (means 1) or positive", name, poolName, w)
	}
	return p.withServer(poolName, name, func(s *server) { s.up.SetWeight(w) })
}

// Swap replaces the whole configuration atomically. A bad configuration is
// refused with every problem listed and the old one stays. Servers kept
// (same pool, name and URL) keep their live state: health, ejection, in-
// flight count, counters. Requests in flight finish on the old
// configuration.
func (p *Proxy) Swap(cfg Config) error {
	d, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("swap config: proxy is closed")
	}
	old := p.state.Load()
	st, err := p.build(d, old)
	if err != nil {
		return err
	}
	for i, pl := range st.order {
		if err := pl.start(p.ctx); err != nil {
			p.stopPools(st.order[:i+1])
			return err
		}
	}
	p.state.Store(st)
	p.stopPools(old.order)
	return nil
}

// SwapConfig parses a YAML or JSON configuration and swaps to it; see Swap.
func (p *Proxy) SwapConfig(data []byte) error {
	cfg, err := ParseConfig(data)
	if err != nil {
		return err
	}
	return p.Swap(cfg)
}

func (p *Proxy) withServer(poolName, name string, f func(*server)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, err := p.pool(poolName)
	if err != nil {
		return err
	}
	s := pl.find(name)
	if s == nil {
		return fmt.Errorf("server %s in pool %s: %w", name, poolName, proxy.ErrNotFound)
	}
	f(s)
	return nil
}

func (p *Proxy) pool(name string) (*pool, error) {
	pl := p.state.Load().pools[name]
	if pl == nil {
		return nil, fmt.Errorf("pool %s: %w", name, proxy.ErrNotFound)
	}
	return pl, nil
}

// build makes a configuration generation from d (defaults applied), reusing
// the servers of old that stay.
func (p *Proxy) build(d Config, old *state) (*state, error) {
	st := &state{cfg: d, pools: make(map[string]*pool, len(d.Pools))}
	if d.Via != "-" {
		st.via = d.Via
		st.via11, st.via2 = "1.1 "+d.Via, "2 "+d.Via
		st.via11s = []string{st.via11}
	}
	for _, t := range d.TrustedProxies {
		pfx, err := parsePrefix(t)
		if err != nil {
			return nil, err
		}
		st.trustedNets = append(st.trustedNets, pfx)
	}
	for _, pc := range d.Pools {
		bc := pc.Balance
		if bc.Seed == 0 {
			bc.Seed = p.seed
		}
		b, err := balance.New(bc)
		if err != nil {
			return nil, fmt.Errorf("pool %s: %w", pc.Name, err)
		}
		pl := &pool{name: pc.Name, cfg: pc, balancer: b, retryOn: parseRetryOn(pc.Retries.On)}
		var prev *pool
		if old != nil {
			prev = old.pools[pc.Name]
		}
		list := make([]*server, 0, len(pc.Servers))
		for _, sc := range pc.Servers {
			if prev != nil {
				if s := prev.find(sc.Name); s != nil && s.spec.URL == sc.URL {
					s.up.SetWeight(sc.Weight)
					list = append(list, s)
					continue
				}
			}
			s, err := p.newServer(pc.Name, sc)
			if err != nil {
				return nil, err
			}
			list = append(list, s)
		}
		pl.setServers(list)
		if pc.Health != nil {
			a, err := health.NewActive(*pc.Health, pl.upstreams, health.WithSeed(p.seed),
				health.WithClient(&http.Client{Transport: probe{p.tr}, CheckRedirect: noRedirect}))
			if err != nil {
				return nil, fmt.Errorf("pool %s: health: %w", pc.Name, err)
			}
			pl.active = a
		}
		if pc.Outlier != nil {
			name := pc.Name
			o, err := health.NewOutlier(*pc.Outlier, pl.upstreams, health.WithEjectionObserver(func(u *balance.Upstream, ejected bool) {
				if ejected {
					p.metrics.Ejections.WithLabelValues(name, u.Name).Inc()
				}
			}))
			if err != nil {
				return nil, fmt.Errorf("pool %s: outlier: %w", pc.Name, err)
			}
			pl.outlier = o
		}
		st.pools[pc.Name] = pl
		st.order = append(st.order, pl)
	}
	st.router = newRouter(d.Routes, st.pools)
	return st, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (p *Proxy) newServer(poolName string, sc ServerConfig) (*server, error) {
	u, err := parseServer(sc)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", poolName, err)
	}
	target := *u
	h2c := target.Scheme == "h2c"
	if h2c {
		target.Scheme = "http"
		p.tr.h2cHost.Store(target.Host, struct{}{})
	}
	target.Path, target.RawPath, target.RawQuery = "", "", ""
	m := p.metrics
	s := &server{
		up:     balance.NewUpstream(sc.Name, &target, sc.Weight),
		spec:   sc,
		target: &target,
		h2c:    h2c,
		conns:  p.tr.counter(target.Host),
	}
	s.mRequests = m.Requests.MustCurryWith(map[string]string{"pool": poolName, "upstream": sc.Name})
	s.mErrors = m.Errors.MustCurryWith(map[string]string{"pool": poolName, "upstream": sc.Name})
	s.mDuration = m.Duration.WithLabelValues(poolName, sc.Name)
	s.mRetries = m.Retries.WithLabelValues(poolName, sc.Name)
	s.mInFlight = m.InFlight.WithLabelValues(poolName, sc.Name)
	s.mHealthy = m.Healthy.WithLabelValues(poolName, sc.Name)
	return s, nil
}

// refreshGauges sets upstream_healthy from the live state before a scrape.
func (p *Proxy) refreshGauges() {
	now := time.Now()
	for _, pl := range p.state.Load().order {
		for _, s := range pl.list() {
			v := 0.0
			if s.up.Available(now) {
				v = 1
			}
			s.mHealthy.Set(v)
		}
	}
}

// liveConfig is Config with the pools' current servers and weights.
func (st *state) liveConfig() Config {
	c := st.cfg
	c.Pools = append([]PoolConfig(nil), c.Pools...)
	for i := range c.Pools {
		pl := st.pools[c.Pools[i].Name]
		var specs []ServerConfig
		for _, s := range pl.list() {
			spec := s.spec
			spec.Weight = s.up.Weight()
			specs = append(specs, spec)
		}
		c.Pools[i].Servers = specs
	}
	return c
}
