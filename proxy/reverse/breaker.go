package reverse

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxylab/proxylab/proxy"
)

// gate is one server's connection breaker: at most max_connections requests
// hold an upstream connection (HTTP/1.1 carries one exchange per
// connection), and the requests waiting for one (queued behind a full
// server, or dialing a new connection) are counted as pending, capped by
// max_pending. A server survives Swap with its gate.
type gate struct {
	mu      sync.Mutex
	busy    atomic.Int64 // requests holding a slot; written under mu
	waiters []chan struct{}
	pending atomic.Int64 // requests waiting for a connection
}

// limit names the breaker limit s is at, or returns "": max_requests in
// flight; all max_connections busy with max_pending requests already waiting
// (none may wait when max_pending is 0); or, without max_connections,
// max_pending requests dialing.
func (b BreakerConfig) limit(s *server) string {
	pending := s.gate.pending.Load()
	switch {
	case b.MaxRequests > 0 && s.up.InFlight() >= int64(b.MaxRequests):
		return "max_requests " + strconv.Itoa(b.MaxRequests) + " in flight"
	case s.gate.full(b.MaxConnections) && b.MaxPending <= 0:
		return "all max_connections " + strconv.Itoa(b.MaxConnections) + " busy and max_pending 0"
	case b.MaxPending > 0 && pending >= int64(b.MaxPending) && (b.MaxConnections <= 0 || s.gate.full(b.MaxConnections)):
		return strconv.FormatInt(pending, 10) + " requests wait for a connection (max_pending " + strconv.Itoa(b.MaxPending) + ")"
	}
	return ""
}

// errPending is the 503 for a request over max_pending.
func errPending(s *server, max int) error {
	return &proxy.Error{Status: http.StatusServiceUnavailable, Reason: "breaker_open",
		Err: errors.Join(proxy.ErrBreakerOpen, errors.New("server "+s.spec.Name+": "+strconv.Itoa(max)+
			" requests already wait for a connection (max_pending "+strconv.Itoa(max)+")"))}
}

// reservePending counts one more pending request unless that would pass
// max (0: no cap). The check and the count are one atomic step, so the cap
// holds exactly under any concurrency.
func (g *gate) reservePending(max int) bool {
	if max <= 0 {
		g.pending.Add(1)
		return true
	}
	for {
		n := g.pending.Load()
		if n >= int64(max) {
			return false
		}
		if g.pending.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (g *gate) donePending() { g.pending.Add(-1) }

// full reports whether every slot of max is taken.
func (g *gate) full(max int) bool { return max > 0 && g.busy.Load() >= int64(max) }

// acquire takes a slot for s, waiting in FIFO order up to wait (0: until
// ctx ends) when all max are busy; a request queues only within
// maxPending (0: none may queue: 503 at once).
func (g *gate) acquire(ctx context.Context, s *server, max, maxPending int, wait time.Duration) error {
	g.mu.Lock()
	if g.busy.Load() < int64(max) {
		g.busy.Add(1)
		g.mu.Unlock()
		return nil
	}
	if maxPending <= 0 || !g.reservePending(maxPending) {
		g.mu.Unlock()
		if maxPending <= 0 {
			return &proxy.Error{Status: http.StatusServiceUnavailable, Reason: "breaker_open",
				Err: errors.Join(proxy.ErrBreakerOpen, errors.New("server "+s.spec.Name+": all "+strconv.Itoa(max)+
					" connections busy (max_connections) and max_pending is 0"))}
		}
		return errPending(s, maxPending)
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	defer g.donePending()

	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-ch:
		return nil // the releaser handed its slot over
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = &proxy.Error{Status: http.StatusServiceUnavailable, Reason: "breaker_open",
			Err: errors.Join(proxy.ErrBreakerOpen, errors.New("server "+s.spec.Name+": no connection free within "+wait.String()+
				" (max_connections "+strconv.Itoa(max)+")"))}
	}
	g.mu.Lock()
	for i, w := range g.waiters {
		if w == ch {
			g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
			g.mu.Unlock()
			return err
		}
	}
	g.mu.Unlock()
	// Handed a slot just as we gave up: pass it on.
	g.release()
	return err
}

// release frees a slot, handing it to the first waiter if there is one.
func (g *gate) release() {
	g.mu.Lock()
	if len(g.waiters) > 0 {
		ch := g.waiters[0]
		g.waiters[0] = nil
		g.waiters = g.waiters[1:]
		g.mu.Unlock()
		close(ch)
		return
	}
	g.busy.Add(-1)
	g.mu.Unlock()
}
