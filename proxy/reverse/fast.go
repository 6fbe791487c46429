package reverse

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/upstream"
)

// The direct path serves the common request without httputil.ReverseProxy:
// the request head is written by hand into the pooled connection's buffer,
// the response head is parsed straight into w.Header(), and the body is
// copied from the connection's read buffer. It runs the same attempts as
// roundTripper (pick, breakers, retries, budget, backoff, outlier
// observations, metrics) and answers errors through the same mapping.
//
//	ServeHTTP ─ fastOK? ─▶ serveFast ── attempt 1..N: slot · conn (pool | dial, pending)
//	                          │            · head+body written · wait for the head
//	                          │            (short deadline first; a context hook only when slow)
//	                          └─▶ respond: Via, retry record, sticky cookie, copy (flushed for
//	                                        SSE and unknown lengths), trailers
//
// The exchange on the connection (stale pooled connections, the first-byte
// wait and the late cancellation hook, 1xx responses) is upstream.Exchange,
// shared with the forward proxy's direct path and upstream.Client.RoundTrip.

// fastOK reports whether r can take the direct path: the fast client is
// on, every server of the pool is plain HTTP/1.1, the body is in memory (or
// absent), and nothing asks for what httputil handles (Upgrade, Expect,
// request trailers, CONNECT).
func (p *Proxy) fastOK(pl *pool, r *http.Request, rs *reqState) bool {
	if p.tr.fast == nil || !rs.body.replayable || r.Method == http.MethodConnect || len(r.Trailer) > 0 {
		return false
	}
	h := r.Header
	if _, ok := h["Upgrade"]; ok {
		return false
	}
	if _, ok := h["Expect"]; ok {
		return false
	}
	return pl.plainHTTP()
}

// serveFast runs the attempts of r on the direct path and writes the
// response or the error.
func (p *Proxy) serveFast(w http.ResponseWriter, r *http.Request, rs *reqState, start time.Time) {
	pl := rs.pool
	rc := pl.cfg.Retries
	ctx := r.Context()
	canIdem := idempotent(r)
	rs.st.forwardFields(r, &rs.fields, &rs.fwdParts)
	target := outboundTarget(r)
	retries := 0
	reserved := false // the retry under way holds a place in the budget
	now := start      // the request's arrival serves the first pick: one clock read less
	for {
		s, err := rs.pick(r, now)
		if err != nil {
			if reserved {
				pl.retrying.Add(-1)
			}
			p.fastError(w, rs, err)
			return
		}
		kind, err := p.fastAttempt(w, r, rs, s, target, canIdem)
		if reserved {
			pl.retrying.Add(-1)
			reserved = false
		}
		if kind == outcomeOK {
			p.respond(w, r, rs, s)
			return
		}
		if kind == outcomeClient {
			rs.release(s)
			p.fastError(w, rs, err)
			return
		}
		// Never retry once bytes (a 1xx) reached the client.
		retry := !rs.committed && rs.attempts < rc.Attempts && ctx.Err() == nil &&
			pl.retryOn.allowsCode(kind, rs.rh.StatusCode, canIdem)
		retry, reserved = pl.budgetRetry(retry, kind)
		if !retry {
			if kind == outcomeStatus {
				rs.server = s // its status goes to the client as is
				p.respond(w, r, rs, s)
				return
			}
			rs.release(s)
			p.fastError(w, rs, err)
			return
		}
		s.mRetries.Inc()
		if kind == outcomeStatus {
			rs.discard()
		}
		clear(w.Header())
		rs.release(s)
		retries++
		if d := p.backoff(rc.Backoff, retries); d > 0 {
			tm := time.NewTimer(d)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				if reserved {
					pl.retrying.Add(-1)
				}
				p.fastError(w, rs, ctx.Err())
				return
			}
		}
		now = time.Now()
	}
}

// fastError answers an attempt's failure as errorHandler does.
func (p *Proxy) fastError(w http.ResponseWriter, rs *reqState, err error) {
	clear(w.Header())
	p.writeError(w, rs, err)
}

// fastAttempt sends r to s once. On outcomeOK and outcomeStatus the response
// head is in rs.rh and w.Header(), its body in rs.ubody; s stays in flight
// in every case (the caller releases it).
func (p *Proxy) fastAttempt(w http.ResponseWriter, r *http.Request, rs *reqState, s *server, target string, canIdem bool) (outcome, error) {
	ctx := r.Context()
	s.up.Acquire()
	s.mInFlight.Inc()
	// Refused or timed out in the breaker's queue: not an attempt (see attempt).
	if err := rs.takeSlot(ctx, s, rs.slotWait()); err != nil {
		return outcomeClient, err
	}
	start := time.Now() // the per-try and response header timeouts run from here
	rs.attempts++
	rs.tried = append(rs.tried, s.spec.Name)
	s.requests.Add(1)
	fast := p.tr.fast
	addr := s.target.Host
	host := r.Host
	if host == "" {
		host = addr // what http.Request.Write sends without a Host
	}
	head := upstream.RequestHead{Method: r.Method, Target: target, Host: host, Header: r.Header,
		Replace: rs.fields[:], ContentLength: rs.body.length}
	var body []byte
	if rs.body.length > 0 {
		body = rs.body.buf.Bytes()
	}
	probe := upstream.ProbeFor(canIdem, len(body) > 0)
	for try := 0; ; try++ {
		pc := fast.Idle(addr, probe)
		if pc == nil {
			if !s.gate.reservePending(rs.pool.cfg.Breaker.MaxPending) {
				return outcomeClient, errPending(s, rs.pool.cfg.Breaker.MaxPending)
			}
			var err error
			pc, err = fast.Dial(ctx, addr)
			s.gate.donePending()
			if err != nil {
				return p.attemptFailed(rs, s, ctx, err)
			}
		}
		rs.x.Begin(ctx, fast, pc, r.Method)
		err := rs.x.Send(&head, body)
		if err == nil {
			if err = p.awaitHead(w, rs, start); err == nil {
				return p.received(rs, s), nil
			}
		}
		if try == 0 && upstream.MayResend(err, canIdem) {
			continue // a stale pooled connection: once more on a new one
		}
		return p.attemptFailed(rs, s, ctx, err)
	}
}

// awaitHead reads the response head of the request just sent into rs.rh
// and w.Header(), passing 1xx responses on (upstream.Exchange.Await). The
// wait is bounded by the response header and per-try timeouts, which run
// from start; a per-try timeout that ends it is a 504.
func (p *Proxy) awaitHead(w http.ResponseWriter, rs *reqState, start time.Time) error {
	opt := upstream.AwaitOptions{Start: start, Timeout: rs.st.cfg.Timeouts.ResponseHeader, Informational: w}
	if t := rs.pool.cfg.Retries.PerTryTimeout; t > 0 {
		opt.Deadline = start.Add(t)
	}
	err := rs.x.Await(&rs.rh, w.Header(), opt)
	if rs.x.Informed() {
		rs.committed = true
	}
	if err != nil && !opt.Deadline.IsZero() && proxy.IsTimeout(err) && !time.Now().Before(opt.Deadline) &&
		(opt.Timeout <= 0 || opt.Deadline.Before(start.Add(opt.Timeout))) {
		err = &proxy.Error{Status: http.StatusGatewayTimeout, Reason: "timeout", Err: errors.Join(context.DeadlineExceeded, err)}
	}
	return err
}

// received classifies the response head just read: its body goes to
// rs.ubody, and its status is passed on or retried.
func (p *Proxy) received(rs *reqState, s *server) outcome {
	pl := rs.pool
	rs.ubody.Reset(p.tr.fast, rs.x.Conn(), &rs.rh)
	code := rs.rh.StatusCode
	if pl.retryOn.status[code] {
		pl.observe(s, code < 500)
		if code >= 500 {
			s.mErrors.WithLabelValues("status_" + strconv.Itoa(code)).Inc()
		}
		return outcomeStatus
	}
	pl.observe(s, code < 500)
	rs.server = s
	return outcomeOK
}

// attemptFailed classifies a failed attempt as attempt does.
func (p *Proxy) attemptFailed(rs *reqState, s *server, ctx context.Context, err error) (outcome, error) {
	if ctx.Err() != nil {
		return outcomeClient, ctx.Err()
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
	rs.pool.observe(s, false)
	s.mErrors.WithLabelValues(proxy.ReasonFor(err)).Inc()
	return kind, err
}

// discard drops a response that will be retried: a little of its body is
// read so the connection can be reused, as drain does.
func (rs *reqState) discard() {
	b := &rs.ubody
	if !b.Buffered() {
		rs.x.Unhook()
		b.CloseConn()
		return
	}
	_, err := b.WriteTo(io.Discard)
	if !rs.x.Unhook() || err != nil {
		b.CloseConn()
		return
	}
	b.Close()
}

// respond writes the chosen response: what modifyResponse does, then the
// head, the body (flushed at once for event streams and unknown lengths, as
// httputil does) and the trailers. A failed copy aborts the client's
// connection (http.ErrAbortHandler, as httputil), so a short body is never
// passed on as complete.
func (p *Proxy) respond(w http.ResponseWriter, r *http.Request, rs *reqState, s *server) {
	st := rs.st
	rh := &rs.rh
	h := w.Header()
	rs.status = rh.StatusCode
	if st.via != "" {
		if _, ok := h["Via"]; ok || rh.ProtoMinor != 1 {
			proto := "1.1"
			if rh.ProtoMinor == 0 {
				proto = "1.0"
			}
			proxy.AddVia(h, proto, st.via)
		} else {
			h["Via"] = st.via11s
		}
	}
	if st.cfg.RetryHeader {
		h.Set("X-Proxylab-Retries", rs.retryRecord())
	}
	if rp, ok := rs.pool.balancer.(balance.Responder); ok {
		rp.Chosen(headerWriter(h), r, s.up)
	}
	if rh.Chunked && len(rh.Trailer) > 0 {
		h.Add("Trailer", strings.Join(rh.Trailer, ", "))
	}
	b := &rs.ubody
	flush := rh.ContentLength < 0 || isEventStream(h)
	if !b.Buffered() {
		rs.x.Hook()
	}
	w.WriteHeader(rh.StatusCode)
	fw := &rs.fw
	fw.reset(w, flush)
	if flush {
		fw.flush()
	}
	_, err := b.WriteTo(fw)
	if !rs.x.Unhook() || err != nil {
		b.CloseConn()
	} else {
		b.Close()
	}
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if len(rh.Trailer) > 0 || len(b.Trailer) > 0 {
		fw.flush()
	}
	if len(b.Trailer) > 0 {
		announced := true
		for k := range b.Trailer {
			if !slices.Contains(rh.Trailer, k) {
				announced = false
			}
		}
		for k, vv := range b.Trailer {
			if !announced {
				k = http.TrailerPrefix + k
			}
			for _, v := range vv {
				h.Add(k, v)
			}
		}
	}
}

// isEventStream reports a text/event-stream response.
func isEventStream(h http.Header) bool {
	v := h["Content-Type"]
	if len(v) == 0 {
		return false
	}
	t, _, _ := strings.Cut(v[0], ";")
	return strings.EqualFold(strings.TrimSpace(t), "text/event-stream")
}

// flushWriter writes the body to the client, flushing after every write
// when asked.
type flushWriter struct {
	w       http.ResponseWriter
	flusher http.Flusher
	always  bool
}

func (f *flushWriter) reset(w http.ResponseWriter, always bool) {
	f.w, f.always = w, always
	f.flusher, _ = w.(http.Flusher)
}

func (f *flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err == nil && f.always {
		f.flush()
	}
	return n, err
}

func (f *flushWriter) flush() {
	if f.flusher != nil {
		f.flusher.Flush()
	}
}

var _ http.Flusher = (*logWriter)(nil)
