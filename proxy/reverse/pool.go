package reverse

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/health"
)

// state is one generation of the configuration: routes and pools. Requests
// load it once and keep it to the end, so Swap never changes a request
// half-way.
type state struct {
	cfg         Config // defaults applied
	router      router
	pools       map[string]*pool
	order       []*pool // in configuration order, for Pools()
	trustedNets []netip.Prefix
	via         string   // "" when Via is off
	via11, via2 string   // precomputed Via elements
	via11s      []string // {via11}, shared read-only by responses
}

// pool is a named group of servers with its balancer, retry policy, breaker
// limits and health checkers.
type pool struct {
	name     string
	cfg      PoolConfig
	balancer balance.Balancer
	servers  atomic.Pointer[serverList] // replaced whole on add/remove
	mu       sync.Mutex                 // serialises server list changes

	retryOn  retryOn
	live     atomic.Int64 // requests of this pool in flight
	retrying atomic.Int64 // retries in flight (the budget's numerator)

	active  *health.Active
	outlier *health.Outlier
	stopped bool
}

// server is one upstream with the proxy's own per-server state; it survives
// Swap when the pool, name and URL stay the same.
type server struct {
	up     *balance.Upstream
	spec   ServerConfig
	target *url.URL // scheme http or https; h2c servers use http with h2c set
	h2c    bool
	conns  *connCount // open connections to target.Host (shared by servers with the same address)
	gate   gate       // max_connections slots and the pending count

	requests atomic.Uint64
	errors   atomic.Uint64

	mRequests *prometheus.CounterVec // curried with pool, upstream; label code
	mErrors   *prometheus.CounterVec // label reason
	mDuration prometheus.Observer
	mRetries  prometheus.Counter
	mInFlight prometheus.Gauge
	mHealthy  prometheus.Gauge
}

// serverList is one generation of a pool's servers with what every request
// asks of it, computed once when the list is set.
type serverList struct {
	ss []*server
	// plainHTTP: every server is http:// without h2c, so the direct path
	// (HTTP/1.1 in clear) can reach whichever one is picked.
	plainHTTP bool
}

func newServerList(ss []*server) *serverList {
	l := &serverList{ss: ss, plainHTTP: true}
	for _, s := range ss {
		if s.h2c || s.target.Scheme != "http" {
			l.plainHTTP = false
			break
		}
	}
	return l
}

// retryOn is the parsed RetryConfig.On.
type retryOn struct {
	connect, timeout, reset bool
	status                  map[int]bool
}

func parseRetryOn(on []string) retryOn {
	r := retryOn{status: make(map[int]bool)}
	for _, s := range on {
		switch s {
		case "connect":
			r.connect = true
		case "timeout":
			r.timeout = true
		case "reset":
			r.reset = true
		default:
			if code, err := strconv.Atoi(s); err == nil {
				r.status[code] = true
			}
		}
	}
	return r
}

// list returns the current servers; never modify the slice.
func (pl *pool) list() []*server {
	if l := pl.servers.Load(); l != nil {
		return l.ss
	}
	return nil
}

// plainHTTP reports whether every current server is plain http (not h2c,
// not https); true for an empty pool.
func (pl *pool) plainHTTP() bool {
	if l := pl.servers.Load(); l != nil {
		return l.plainHTTP
	}
	return true
}

func (pl *pool) upstreams() []*balance.Upstream {
	ss := pl.list()
	us := make([]*balance.Upstream, len(ss))
	for i, s := range ss {
		us[i] = s.up
	}
	return us
}

func (pl *pool) find(name string) *server {
	for _, s := range pl.list() {
		if s.spec.Name == name {
			return s
		}
	}
	return nil
}

func (pl *pool) byUpstream(u *balance.Upstream) *server {
	for _, s := range pl.list() {
		if s.up == u {
			return s
		}
	}
	return nil
}

// setServers replaces the list; callers hold pl.mu.
func (pl *pool) setServers(ss []*server) { pl.servers.Store(newServerList(ss)) }

// start launches the pool's health checker, if configured.
func (pl *pool) start(ctx context.Context) error {
	if pl.active == nil {
		return nil
	}
	if err := pl.active.Start(ctx); err != nil {
		return fmt.Errorf("pool %s: start health checks: %w", pl.name, err)
	}
	return nil
}

// stop ends the pool's health checker; idempotent.
func (pl *pool) stop() {
	pl.mu.Lock()
	stopped := pl.stopped
	pl.stopped = true
	pl.mu.Unlock()
	if !stopped && pl.active != nil {
		pl.active.Stop()
	}
}

// observe feeds one attempt's outcome to the outlier detector.
func (pl *pool) observe(s *server, ok bool) {
	if !ok {
		s.errors.Add(1)
	}
	if pl.outlier != nil {
		pl.outlier.Observe(s.up, ok)
	}
}

// budgetRetry decides a wanted retry against the retry budget: a refused
// dial sent nothing and costs the upstreams nothing, so it is retried
// outside the budget, which guards against retry storms. reserved says the
// retry took a place in the budget.
func (pl *pool) budgetRetry(want bool, kind outcome) (retry, reserved bool) {
	if !want || kind == outcomeConnect {
		return want, false
	}
	if pl.allowRetry() {
		return true, true
	}
	return false, false
}

// allowRetry reserves one retry within the budget; the caller releases it
// with pl.retrying.Add(-1).
func (pl *pool) allowRetry() bool {
	b := pl.cfg.Retries.Budget
	n := pl.retrying.Add(1)
	if b < 0 {
		return true
	}
	limit := int64(b * float64(pl.live.Load()))
	if limit < DefaultMinRetryConcurrency {
		limit = DefaultMinRetryConcurrency
	}
	if n > limit {
		pl.retrying.Add(-1)
		return false
	}
	return true
}

// state returns the status word of s at now.
func serverState(u *balance.Upstream, now time.Time) string {
	switch {
	case u.Draining():
		return "draining"
	case u.Ejected(now):
		return "ejected"
	case !u.Healthy():
		return "unhealthy"
	}
	return "healthy"
}

func (pl *pool) status(now time.Time) proxy.PoolStatus {
	ps := proxy.PoolStatus{Name: pl.name, Policy: pl.cfg.Balance.Policy, Servers: []proxy.ServerStatus{}}
	if ps.Policy == "" {
		ps.Policy = balance.DefaultPolicy
	}
	for _, s := range pl.list() {
		u := s.up
		ps.Servers = append(ps.Servers, proxy.ServerStatus{
			Name:     s.spec.Name,
			URL:      s.spec.URL,
			Weight:   u.Weight(),
			State:    serverState(u, now),
			Healthy:  u.Healthy(),
			Draining: u.Draining(),
			Ejected:  u.Ejected(now),
			InFlight: u.InFlight(),
			Requests: s.requests.Load(),
			Errors:   s.errors.Load(),
		})
	}
	return ps
}
