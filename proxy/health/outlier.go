package health

import (
	"errors"
	"sync"
	"time"

	"github.com/proxylab/proxylab/proxy/balance"
)

// OutlierOption tunes NewOutlier.
type OutlierOption func(*Outlier)

// WithClock makes the detector read time from now (tests use a fake clock).
func WithClock(now func() time.Time) OutlierOption {
	return func(o *Outlier) {
		if now != nil {
			o.now = now
		}
	}
}

// WithEjectionObserver registers f to hear of every ejection (true) and
// return to rotation (false), for metrics and logs. f is called without the
// detector's lock held, from the goroutine that called Observe or Counts.
func WithEjectionObserver(f func(u *balance.Upstream, ejected bool)) OutlierOption {
	return func(o *Outlier) { o.observer = f }
}

// Outlier ejects upstreams that fail the traffic they get.
//
// The proxy calls Observe after every attempt with ok=false for what it
// counts as the upstream's failure (connect errors, 5xx, timeouts; not a
// client's bad framing or a client that went away). Outcomes reported for an
// upstream while it is ejected are ignored.
//
// Limits: the detector never ejects more than MaxEjectedPercent of the pool,
// and never the last available server. When an upstream crosses a threshold
// but a limit forbids its ejection, it stays in rotation, its counts restart
// and the refusal is counted as "eject_skipped" (Counts().Skipped). This is
// the panic behaviour: better a bad server in rotation than no server.
//
// Return to rotation is lazy: balance.Upstream.Ejected compares with the
// clock, so the upstream is available again exactly when its time is up; the
// detector's bookkeeping (Upstream.Uneject, which restarts slow start, the
// Unejections counter and the observer) happens on the next Observe or
// Counts call after that, so no timer goroutine exists.
type Outlier struct {
	cfg      OutlierConfig
	pool     func() []*balance.Upstream
	now      func() time.Time
	observer func(u *balance.Upstream, ejected bool)

	mu       sync.Mutex
	hosts    map[*balance.Upstream]*outlierHost
	ejected  []*balance.Upstream // ejected by this detector, not yet swept back
	counts   EjectionCounts
	observed uint64
}

// outlierHost is the detector's view of one upstream.
type outlierHost struct {
	consecutive  int       // failures in a row
	windowStart  time.Time // start of the ErrorRate window
	total        int       // outcomes in the window
	failed       int       // failures in the window
	ejections    int       // ejections in a row (n of BaseEjection × n)
	ejectedUntil time.Time // zero when not ejected by us
	back         time.Time // when it last returned to rotation
}

// EjectionCounts are the detector's counters, for metrics.
type EjectionCounts struct {
	Ejections   uint64 // ejections made
	Skipped     uint64 // ejections refused by MaxEjectedPercent or the last-server rule ("eject_skipped")
	Unejections uint64 // upstreams returned to rotation
	Ejected     int    // upstreams ejected by the detector now
}

// NewOutlier returns a detector for the upstreams pool returns. pool is
// called during Observe to count the pool and must not call back into the
// detector.
func NewOutlier(cfg OutlierConfig, pool func() []*balance.Upstream, opts ...OutlierOption) (*Outlier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, errors.New("outlier detector: pool func is nil")
	}
	o := &Outlier{cfg: cfg, pool: pool, now: time.Now, hosts: make(map[*balance.Upstream]*outlierHost)}
	for _, opt := range opts {
		opt(o)
	}
	return o, nil
}

// Config returns the configuration in use, with defaults applied.
func (o *Outlier) Config() OutlierConfig { return o.cfg }

// Counts returns the counters, after returning to rotation the upstreams
// whose ejection is over.
func (o *Outlier) Counts() EjectionCounts {
	o.mu.Lock()
	back := o.sweep(o.now())
	c := o.counts
	c.Ejected = len(o.ejected)
	o.mu.Unlock()
	o.notify(back, false)
	return c
}

// Ejections returns how many ejections the detector has made so far.
func (o *Outlier) Ejections() uint64 { return o.Counts().Ejections }

// Observe records the outcome of one attempt on u.
func (o *Outlier) Observe(u *balance.Upstream, ok bool) {
	if u == nil {
		return
	}
	now := o.now()
	o.mu.Lock()
	back := o.sweep(now)
	ejected := o.record(u, ok, now)
	o.observed++
	if o.observed%1024 == 0 {
		o.forget()
	}
	o.mu.Unlock()
	o.notify(back, false)
	if ejected {
		o.notify([]*balance.Upstream{u}, true)
	}
}

func (o *Outlier) notify(us []*balance.Upstream, ejected bool) {
	if o.observer == nil {
		return
	}
	for _, u := range us {
		o.observer(u, ejected)
	}
}

// record counts one outcome and ejects u when a rule says so and the limits
// allow it; it reports whether it ejected.
func (o *Outlier) record(u *balance.Upstream, ok bool, now time.Time) bool {
	h := o.hosts[u]
	if h == nil {
		h = &outlierHost{windowStart: now}
		o.hosts[u] = h
	}
	if !h.ejectedUntil.IsZero() {
		return false // late outcome of a request sent before the ejection
	}
	if now.Sub(h.windowStart) >= o.cfg.Window {
		h.windowStart, h.total, h.failed = now, 0, 0
	}
	h.total++
	if ok {
		h.consecutive = 0
		return false
	}
	h.failed++
	h.consecutive++
	tripped := (o.cfg.Consecutive > 0 && h.consecutive >= o.cfg.Consecutive) ||
		(o.cfg.ErrorRate > 0 && h.total >= o.cfg.MinRequests && float64(h.failed) >= o.cfg.ErrorRate*float64(h.total))
	if !tripped {
		return false
	}
	h.consecutive, h.total, h.failed, h.windowStart = 0, 0, 0, now
	if !o.mayEject(u, now) {
		o.counts.Skipped++
		return false
	}
	if h.ejections > 0 && !h.back.IsZero() && now.Sub(h.back) >= o.cfg.MaxEjection {
		h.ejections = 0 // it behaved for a long while: start from the base again
	}
	h.ejections++
	d := min(o.cfg.BaseEjection*time.Duration(h.ejections), o.cfg.MaxEjection)
	h.ejectedUntil = now.Add(d)
	u.Eject(h.ejectedUntil)
	o.ejected = append(o.ejected, u)
	o.counts.Ejections++
	return true
}

// mayEject applies the limits: at most MaxEjectedPercent of the pool ejected
// (rounded down), and never the last available server.
func (o *Outlier) mayEject(u *balance.Upstream, now time.Time) bool {
	pool := o.pool()
	ejected, othersAvailable := 0, 0
	for _, p := range pool {
		if p.Ejected(now) {
			ejected++
		} else if p != u && p.Available(now) {
			othersAvailable++
		}
	}
	return othersAvailable > 0 && (ejected+1)*100 <= o.cfg.MaxEjectedPercent*len(pool)
}

// sweep returns to rotation the upstreams whose ejection is over and returns
// them so the caller can notify the observer outside the lock.
func (o *Outlier) sweep(now time.Time) []*balance.Upstream {
	var back []*balance.Upstream
	kept := o.ejected[:0]
	for _, u := range o.ejected {
		h := o.hosts[u]
		if h == nil || now.Before(h.ejectedUntil) {
			kept = append(kept, u)
			continue
		}
		h.ejectedUntil, h.back = time.Time{}, now
		h.windowStart, h.total, h.failed, h.consecutive = now, 0, 0, 0
		u.Uneject()
		o.counts.Unejections++
		back = append(back, u)
	}
	clear(o.ejected[len(kept):])
	o.ejected = kept
	return back
}

// forget drops the state of upstreams that left the pool and are not
// ejected, so a pool that changes does not grow the map forever.
func (o *Outlier) forget() {
	in := make(map[*balance.Upstream]bool)
	for _, u := range o.pool() {
		in[u] = true
	}
	for u, h := range o.hosts {
		if !in[u] && h.ejectedUntil.IsZero() {
			delete(o.hosts, u)
		}
	}
}
