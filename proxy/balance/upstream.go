package balance

import (
	"net/url"
	"sync/atomic"
	"time"
)

// Upstream is one server of a pool as the balancer, the health checkers and the
// proxy share it. Its live state is safe for concurrent use.
type Upstream struct {
	// Name identifies the server in logs, metrics and the admin API.
	Name string
	// URL is where requests for this server are sent (scheme://host:port).
	URL *url.URL

	weight    atomic.Int64 // configured weight; 0 is stored as 1
	inflight  atomic.Int64 // requests being served now
	healthy   atomic.Bool  // verdict of the active checker; true when there is none
	draining  atomic.Bool  // takes no new request, finishes what it has
	ejectedTo atomic.Int64 // unix nanos until which passive checks eject it; 0 = not ejected
	upSince   atomic.Int64 // unix nanos when it last became available (slow start)
}

// NewUpstream returns a healthy, available upstream. A weight of 0 or less means 1.
func NewUpstream(name string, u *url.URL, weight int) *Upstream {
	up := &Upstream{Name: name, URL: u}
	up.SetWeight(weight)
	up.healthy.Store(true)
	up.upSince.Store(time.Now().UnixNano())
	return up
}

// Weight returns the configured weight (at least 1).
func (u *Upstream) Weight() int { return int(u.weight.Load()) }

// SetWeight changes the weight; 0 or less means 1.
func (u *Upstream) SetWeight(w int) {
	if w <= 0 {
		w = 1
	}
	u.weight.Store(int64(w))
}

// InFlight returns the number of requests being served by u now.
func (u *Upstream) InFlight() int64 { return u.inflight.Load() }

// Acquire counts one more request in flight; call Release when it ends.
func (u *Upstream) Acquire() { u.inflight.Add(1) }

// Release ends a request counted by Acquire.
func (u *Upstream) Release() { u.inflight.Add(-1) }

// Healthy reports the active health verdict.
func (u *Upstream) Healthy() bool { return u.healthy.Load() }

// SetHealthy records an active health verdict; becoming healthy restarts slow start.
func (u *Upstream) SetHealthy(ok bool) {
	if u.healthy.Swap(ok) != ok && ok {
		u.upSince.Store(time.Now().UnixNano())
	}
}

// Draining reports whether u takes no new requests.
func (u *Upstream) Draining() bool { return u.draining.Load() }

// SetDraining starts or ends draining.
func (u *Upstream) SetDraining(d bool) { u.draining.Store(d) }

// Eject takes u out of rotation until the given time (passive health).
func (u *Upstream) Eject(until time.Time) { u.ejectedTo.Store(until.UnixNano()) }

// Ejected reports whether u is ejected at now.
func (u *Upstream) Ejected(now time.Time) bool {
	to := u.ejectedTo.Load()
	return to != 0 && now.UnixNano() < to
}

// Uneject clears an ejection and restarts slow start.
func (u *Upstream) Uneject() {
	if u.ejectedTo.Swap(0) != 0 {
		u.upSince.Store(time.Now().UnixNano())
	}
}

// UpSince returns when u last became available.
func (u *Upstream) UpSince() time.Time { return time.Unix(0, u.upSince.Load()) }

// Available reports whether u may take a new request at now.
func (u *Upstream) Available(now time.Time) bool {
	return u.Healthy() && !u.Draining() && !u.Ejected(now)
}

// AppendAvailable appends to dst the members of pool that may take a new
// request at now, in pool order, and returns the extended slice. With a dst
// reused across requests (dst[:0]) it does not allocate. The result is the
// candidates a Balancer expects; an empty result is the caller's "no
// available upstream".
func AppendAvailable(dst, pool []*Upstream, now time.Time) []*Upstream {
	for _, u := range pool {
		if u.Available(now) {
			dst = append(dst, u)
		}
	}
	return dst
}
