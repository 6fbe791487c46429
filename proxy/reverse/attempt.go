package reverse

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/upstream"
)

// reqState is what one request carries through ReverseProxy to the round
// tripper and back: the configuration generation, the pool, the body kept
// for replay and the retry record.
type reqState struct {
	st       *state
	pool     *pool
	body     body
	server   *server // the server whose response is being copied; in flight until the end
	attempts int
	tried    []string
	triedBuf [4]string
	status   int
	err      error
	cancel   context.CancelFunc // per-try context of the final attempt
	slot     *gate              // the breaker slot the current attempt holds, if any

	// The direct path's per-request state (fast.go), kept here so that it
	// costs no allocation.
	fields    [numFields]upstream.Field // X-Forwarded-*, Forwarded, Via (rewrite's too)
	fwdParts  [fwdParts]string          // the pieces of Forwarded (rewrite's too)
	rh        upstream.ResponseHead
	ubody     upstream.Body
	fw        flushWriter
	x         upstream.Exchange // the current attempt on its connection
	committed bool              // a 1xx reached the client: no retry
	cands     []*balance.Upstream
}

type stateKey struct{}

var reqStatePool = sync.Pool{New: func() any { return new(reqState) }}

func getReqState(st *state, pl *pool) *reqState {
	rs := reqStatePool.Get().(*reqState)
	cands := rs.cands[:0]
	*rs = reqState{st: st, pool: pl, cands: cands}
	rs.tried = rs.triedBuf[:0]
	return rs
}

func putReqState(rs *reqState) {
	if rs.body.inUse() {
		// An upstream transport still holds a reader of this body (it
		// answered before reading it all): leave rs and its buffer to the
		// garbage collector rather than hand them to another request.
		return
	}
	rs.body.release()
	clear(rs.cands[:cap(rs.cands)])
	*rs = reqState{cands: rs.cands[:0]}
	reqStatePool.Put(rs)
}

func stateFrom(r *http.Request) *reqState {
	rs, _ := r.Context().Value(stateKey{}).(*reqState)
	return rs
}

// idempotent reports whether the request may be sent twice (RFC 9110 §9.2.2,
// or an Idempotency-Key).
func idempotent(r *http.Request) bool { return upstream.Idempotent(r) }

// pick chooses the server for the next attempt among available ones, a
// server not tried yet when there is one, with breaker limits applied.
func (rs *reqState) pick(r *http.Request, now time.Time) (*server, error) {
	pl := rs.pool
	servers := pl.list()
	br := pl.cfg.Breaker
	limited := "" // the last breaker limit met, for the error
	for pass := 0; pass < 2; pass++ {
		rs.cands = rs.cands[:0]
		for _, s := range servers {
			if !s.up.Available(now) {
				continue
			}
			if pass == 0 && rs.wasTried(s.spec.Name) {
				continue
			}
			if lim := br.limit(s); lim != "" {
				limited = s.spec.Name + ": " + lim
				continue
			}
			rs.cands = append(rs.cands, s.up)
		}
		if len(rs.cands) > 0 {
			break
		}
		if len(rs.tried) == 0 {
			break // nothing tried: the second pass would find the same
		}
	}
	if len(rs.cands) == 0 {
		if limited != "" {
			return nil, &proxy.Error{Status: http.StatusServiceUnavailable, Reason: "breaker_open",
				Err: errors.Join(proxy.ErrBreakerOpen, errors.New("pool "+pl.name+": every available server is at a breaker limit ("+limited+")"))}
		}
		return nil, &proxy.Error{Status: http.StatusServiceUnavailable, Reason: "no_upstream",
			Err: errors.Join(proxy.ErrNoUpstream, errors.New("pool "+pl.name+": no available server"))}
	}
	if len(rs.cands) == 1 && len(rs.tried) > 0 {
		// A retry with one server left: no choice to make, and asking the
		// balancer would advance its rotation for nothing.
		if s := pl.byUpstream(rs.cands[0]); s != nil {
			return s, nil
		}
	}
	u := pl.balancer.Pick(r, rs.cands)
	if u == nil {
		return nil, &proxy.Error{Status: http.StatusServiceUnavailable, Reason: "no_upstream",
			Err: errors.Join(proxy.ErrNoUpstream, errors.New("pool "+pl.name+": the balancer refused every server"))}
	}
	if s := pl.byUpstream(u); s != nil {
		return s, nil
	}
	return nil, &proxy.Error{Status: http.StatusServiceUnavailable, Reason: "no_upstream", Err: proxy.ErrNoUpstream}
}

func (rs *reqState) wasTried(name string) bool {
	for _, t := range rs.tried {
		if t == name {
			return true
		}
	}
	return false
}

// roundTripper is the http.RoundTripper ReverseProxy uses: it runs the
// attempts of one request (pick, breaker, per-try timeout, retry decision,
// backoff) and returns the response to copy. Because it returns before a
// single byte reaches the client, nothing is ever retried after that.
type roundTripper struct {
	p *Proxy
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rs := stateFrom(req)
	if rs == nil {
		return nil, errors.New("reverse: request without proxy state")
	}
	pl := rs.pool
	rc := pl.cfg.Retries
	parent := req.Context()
	canIdem := idempotent(req)
	retries := 0
	reserved := false // the retry under way holds a place in the budget
	release := func() {
		if reserved {
			pl.retrying.Add(-1)
			reserved = false
		}
	}
	for {
		s, err := rs.pick(req, time.Now())
		if err != nil {
			release()
			return nil, err
		}
		resp, err, kind := t.attempt(rs, s, req, parent, rc.PerTryTimeout)
		release()
		if kind == outcomeOK {
			return resp, nil
		}
		if kind == outcomeClient {
			rs.release(s)
			return nil, err
		}
		retry := rs.attempts < rc.Attempts && parent.Err() == nil && rs.body.canReplay() && pl.retryOn.allows(kind, resp, canIdem)
		retry, reserved = pl.budgetRetry(retry, kind)
		if !retry {
			if resp != nil {
				rs.server = s // its status goes to the client as is
				return resp, nil
			}
			rs.release(s)
			return nil, err
		}
		s.mRetries.Inc()
		if resp != nil {
			drain(resp.Body)
		}
		if rs.cancel != nil {
			rs.cancel()
			rs.cancel = nil
		}
		rs.release(s)
		retries++
		if d := t.p.backoff(rc.Backoff, retries); d > 0 {
			tm := time.NewTimer(d)
			select {
			case <-tm.C:
			case <-parent.Done():
				tm.Stop()
				release()
				return nil, parent.Err()
			}
		}
	}
}

type outcome int

const (
	outcomeOK      outcome = iota
	outcomeClient          // the client's fault or the client left: no retry, no health penalty
	outcomeConnect         // dial failed: nothing was sent
	outcomeTimeout         // no response headers in time
	outcomeReset           // the connection broke before a response
	outcomeStatus          // a response whose status is in retries.on
)

func (r retryOn) allows(k outcome, resp *http.Response, idem bool) bool {
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	return r.allowsCode(k, code, idem)
}

// allowsCode is allows with the response's status (0 without a response).
func (r retryOn) allowsCode(k outcome, code int, idem bool) bool {
	switch k {
	case outcomeConnect:
		return r.connect
	case outcomeTimeout:
		return r.timeout && idem
	case outcomeReset:
		return r.reset && idem
	case outcomeStatus:
		return idem && code != 0 && r.status[code]
	}
	return false
}

// attempt sends req to s once. On outcomeOK and outcomeStatus s stays in
// flight (the caller releases it); otherwise s is still in flight too and the
// caller releases it.
func (t roundTripper) attempt(rs *reqState, s *server, req *http.Request, parent context.Context, perTry time.Duration) (*http.Response, error, outcome) {
	pl := rs.pool
	s.up.Acquire()
	s.mInFlight.Inc()
	// A request refused or timed out in the breaker's queue was never an
	// attempt: it is not counted, and the retry record does not name s.
	if err := rs.takeSlot(parent, s, rs.slotWait()); err != nil {
		return nil, err, outcomeClient
	}
	rs.attempts++
	rs.tried = append(rs.tried, s.spec.Name)
	s.requests.Add(1)
	req.URL.Scheme = s.target.Scheme
	req.URL.Host = s.target.Host
	if req.Body != nil || rs.body.length != 0 {
		req.Body, req.ContentLength = rs.body.reader()
		if rs.body.replayable {
			req.GetBody = func() (io.ReadCloser, error) { b, _ := rs.body.reader(); return b, nil }
		}
	}
	var tr http.RoundTripper = t.p.tr.h1
	switch {
	case s.h2c:
		tr = t.p.tr.h2c
	case t.p.tr.fast != nil && rs.body.replayable && t.p.tr.fast.Handles(req):
		// Only bodies kept in memory: writing them cannot block on an
		// upstream that answers early without reading (http.Transport reads
		// and writes at once and handles that case).
		tr = t.p.tr.fast
	}
	var timer *time.Timer
	if perTry > 0 {
		ctx, cancel := context.WithCancel(parent)
		rs.cancel = cancel
		timer = time.AfterFunc(perTry, cancel)
		req = req.WithContext(ctx)
	}
	resp, err := tr.RoundTrip(req)
	if timer != nil && !timer.Stop() && parent.Err() == nil {
		// The per-try timer fired: that is a timeout, not a cancellation.
		if resp != nil {
			drain(resp.Body)
			resp = nil
		}
		err = &proxy.Error{Status: http.StatusGatewayTimeout, Reason: "timeout", Err: errors.Join(context.DeadlineExceeded, err)}
	}
	if err != nil {
		if rs.cancel != nil {
			rs.cancel()
			rs.cancel = nil
		}
		if cerr := rs.body.clientErr(); cerr != nil {
			return nil, cerr, outcomeClient
		}
		if parent.Err() != nil {
			return nil, err, outcomeClient
		}
		var kind outcome
		switch {
		case proxy.IsDialError(err):
			kind = outcomeConnect
		case proxy.IsTimeout(err):
			kind = outcomeTimeout
		default:
			kind = outcomeReset
		}
		pl.observe(s, false)
		s.mErrors.WithLabelValues(proxy.ReasonFor(err)).Inc()
		return nil, err, kind
	}
	if pl.retryOn.status[resp.StatusCode] {
		pl.observe(s, resp.StatusCode < 500)
		if resp.StatusCode >= 500 {
			s.mErrors.WithLabelValues("status_" + resp.Status[:3]).Inc()
		}
		return resp, nil, outcomeStatus
	}
	pl.observe(s, resp.StatusCode < 500)
	rs.server = s
	return resp, nil, outcomeOK
}

// release ends s's part in the current attempt: in flight no more, and its
// breaker slot freed.
func (rs *reqState) release(s *server) {
	s.up.Release()
	s.mInFlight.Dec()
	rs.releaseSlot()
}

func (rs *reqState) releaseSlot() {
	if rs.slot != nil {
		rs.slot.release()
		rs.slot = nil
	}
}

// takeSlot holds one of s's max_connections slots for the attempt, queueing
// within max_pending; with no max_connections it does nothing.
func (rs *reqState) takeSlot(ctx context.Context, s *server, wait time.Duration) error {
	br := rs.pool.cfg.Breaker
	if br.MaxConnections <= 0 {
		return nil
	}
	if err := s.gate.acquire(ctx, s, br.MaxConnections, br.MaxPending, wait); err != nil {
		return err
	}
	rs.slot = &s.gate
	return nil
}

// slotWait bounds the wait for a breaker slot: the per-try timeout, else
// the response header timeout.
func (rs *reqState) slotWait() time.Duration {
	if t := rs.pool.cfg.Retries.PerTryTimeout; t > 0 {
		return t
	}
	return rs.st.cfg.Timeouts.ResponseHeader
}

// backoff returns the jittered wait before retry n (1-based): base·2^(n-1)
// scaled by a random factor in [0.5, 1.5) from the proxy's seeded source.
func (p *Proxy) backoff(base time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	d := base << (n - 1)
	p.rngMu.Lock()
	f := p.rng.Float64()
	p.rngMu.Unlock()
	return time.Duration(float64(d) * (0.5 + f))
}

// drain reads a little of a discarded response so its connection can be
// reused, then closes it.
func drain(b io.ReadCloser) {
	if b == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, b, 4<<10)
	b.Close()
}
