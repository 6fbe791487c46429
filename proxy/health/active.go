package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxylab/proxylab/proxy/balance"
)

// ActiveOption tunes NewActive.
type ActiveOption func(*Active)

// WithClient makes probes go through c instead of the checker's own client
// (which has no keep-alive pool worth sharing and follows no redirects).
// c's Timeout, if any, applies on top of ActiveConfig.Timeout.
func WithClient(c *http.Client) ActiveOption {
	return func(a *Active) {
		if c != nil {
			a.client, a.ownClient = c, false
		}
	}
}

// WithObserver registers f to hear of every health change the checker makes
// (for metrics and logs). f is called from checker goroutines, possibly at
// the same time for different upstreams, and should return quickly.
func WithObserver(f func(u *balance.Upstream, healthy bool)) ActiveOption {
	return func(a *Active) { a.observer = f }
}

// WithSeed seeds the jitter of probe intervals. Without it the seed is 0.
func WithSeed(seed uint64) ActiveOption {
	return func(a *Active) { a.seed = seed }
}

// Active probes every upstream targets returns over HTTP and sets its health
// verdict with rise/fall thresholds.
//
// The pool may change at runtime: every Interval the checker calls targets
// again, starts probing upstreams it has not seen (the first probe right
// away) and stops probing those that left. A new upstream keeps the verdict
// it has when it joins; balance.NewUpstream makes it healthy, so it takes
// traffic at once and is marked down after Fall failed probes. A proxy that
// wants "down until proven up" calls SetHealthy(false) before adding it, and
// the upstream then comes up after Rise good probes.
type Active struct {
	cfg       ActiveConfig
	path      *url.URL
	targets   func() []*balance.Upstream
	client    *http.Client
	ownClient bool
	observer  func(u *balance.Upstream, healthy bool)
	seed      uint64

	probes   atomic.Uint64
	failures atomic.Uint64
	flips    atomic.Uint64
	mu       sync.Mutex
	started  bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// ErrStarted is returned by Start when the checker already runs or ran.
var ErrStarted = errors.New("active health checker already started")

// NewActive returns a checker for the upstreams targets returns; targets is
// called from the checker's goroutine and must be safe for concurrent use.
func NewActive(cfg ActiveConfig, targets func() []*balance.Upstream, opts ...ActiveOption) (*Active, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if targets == nil {
		return nil, errors.New("active health checker: targets func is nil")
	}
	path, err := url.Parse(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("active health config: path %q: %w", cfg.Path, err)
	}
	a := &Active{cfg: cfg, path: path, targets: targets}
	a.client = &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 1, IdleConnTimeout: 2 * cfg.Interval},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	a.ownClient = true
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// Config returns the configuration in use, with defaults applied.
func (a *Active) Config() ActiveConfig { return a.cfg }

// Start launches the checker; it runs until ctx ends or Stop is called.
// A checker starts once: a second Start returns ErrStarted.
func (a *Active) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return ErrStarted
	}
	a.started = true
	ctx, a.cancel = context.WithCancel(ctx)
	a.wg.Go(func() { a.supervise(ctx) })
	return nil
}

// Stop ends every probe and waits for the checker's goroutines to return.
// It is idempotent and safe to call without Start.
func (a *Active) Stop() {
	a.stopOnce.Do(func() {
		a.mu.Lock()
		a.started = true // a stopped checker cannot be started again
		cancel := a.cancel
		a.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		a.wg.Wait()
		if a.ownClient {
			a.client.CloseIdleConnections()
		}
	})
}

// ActiveStats counts what the checker did, for metrics.
type ActiveStats struct {
	Probes   uint64 // probes sent
	Failures uint64 // probes that failed (error, timeout or unexpected status)
	Changes  uint64 // health verdicts changed by the checker
}

// Stats returns the checker's counters so far.
func (a *Active) Stats() ActiveStats {
	return ActiveStats{Probes: a.probes.Load(), Failures: a.failures.Load(), Changes: a.flips.Load()}
}

// supervise keeps one probing goroutine per current target until ctx ends.
func (a *Active) supervise(ctx context.Context) {
	running := make(map[*balance.Upstream]context.CancelFunc)
	defer func() {
		for _, cancel := range running {
			cancel()
		}
	}()
	tick := time.NewTicker(a.cfg.Interval)
	defer tick.Stop()
	for {
		a.reconcile(ctx, running)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reconcile starts probing new targets and stops probing removed ones.
func (a *Active) reconcile(ctx context.Context, running map[*balance.Upstream]context.CancelFunc) {
	current := a.targets()
	seen := make(map[*balance.Upstream]bool, len(current))
	for _, u := range current {
		if u == nil || seen[u] {
			continue
		}
		seen[u] = true
		if _, ok := running[u]; ok {
			continue
		}
		cctx, cancel := context.WithCancel(ctx)
		running[u] = cancel
		p := newProber(a, u)
		a.wg.Go(func() { p.run(cctx) })
	}
	for u, cancel := range running {
		if !seen[u] {
			cancel()
			delete(running, u)
		}
	}
}
