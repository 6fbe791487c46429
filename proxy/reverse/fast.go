package reverse

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
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

// firstByteWait is how long an attempt waits for the upstream's first
// response byte before it hooks the client's cancellation to the
// connection; responses quicker than this never pay for the hook.
const firstByteWait = 20 * time.Millisecond

// aLongTimeAgo is a deadline in the past: it unblocks reads and writes.
var aLongTimeAgo = time.Unix(1, 0)

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
	// An idempotent request without a body is resent on a dead pooled
	// connection, so it skips the liveness probe on young connections.
	probe := !canIdem || len(body) > 0
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
		bw := pc.Writer()
		err := head.Write(bw)
		if err == nil && len(body) > 0 {
			_, err = bw.Write(body)
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			pc.Close()
			if try == 0 && pc.Reused() && upstream.IsConnGone(err) {
				continue // a stale pooled connection, nothing sent: once more on a new one
			}
			return p.attemptFailed(rs, s, ctx, err)
		}
		kind, err := p.awaitHead(w, r, rs, s, pc, start)
		if errors.Is(err, upstream.ErrStaleConn) {
			if try == 0 && canIdem {
				continue // closed without an answer: an idempotent request goes once more
			}
			return p.attemptFailed(rs, s, ctx, err)
		}
		return kind, err
	}
}

// awaitHead reads the response head of the request just written on pc,
// passing 1xx responses on. The wait is bounded by the response header and
// per-try timeouts through the connection's read deadline; the client's
// cancellation is hooked to the connection only once the upstream has been
// slower than firstByteWait.
func (p *Proxy) awaitHead(w http.ResponseWriter, r *http.Request, rs *reqState, s *server, pc *upstream.Conn, start time.Time) (outcome, error) {
	ctx := r.Context()
	pl := rs.pool
	nc := pc.NetConn()
	rs.nc = nc
	now := start // taken before the request was written: microseconds earlier
	var limit, perTryAt time.Time
	if t := rs.st.cfg.Timeouts.ResponseHeader; t > 0 {
		limit = now.Add(t)
	}
	if t := pl.cfg.Retries.PerTryTimeout; t > 0 {
		perTryAt = start.Add(t)
		if limit.IsZero() || perTryAt.Before(limit) {
			limit = perTryAt
		} else {
			perTryAt = time.Time{}
		}
	}
	// (ctx.Done is not asked: on a server's context it would allocate the
	// channel; a context that cannot end costs only the short deadline.)
	first := limit
	if short := now.Add(firstByteWait); first.IsZero() || short.Before(first) {
		first = short
	}
	if !first.IsZero() {
		nc.SetReadDeadline(first)
	}
	fail := func(err error) (outcome, error) {
		rs.stopHook()
		pc.Close()
		if ctx.Err() != nil {
			return outcomeClient, ctx.Err()
		}
		if !perTryAt.IsZero() && proxy.IsTimeout(err) && !time.Now().Before(perTryAt) {
			err = &proxy.Error{Status: http.StatusGatewayTimeout, Reason: "timeout", Err: errors.Join(context.DeadlineExceeded, err)}
		}
		return p.attemptFailed(rs, s, ctx, err)
	}
	br := pc.Reader()
	if br.Buffered() == 0 {
		// Let the other runnable goroutines go first: by the time this one
		// reads, the upstream's answer has often arrived, which saves the
		// read that finds nothing and the park before the real one.
		runtime.Gosched()
	}
	_, err := br.Peek(1)
	if err != nil && !first.Equal(limit) && proxy.IsTimeout(err) && ctx.Err() == nil {
		// Slower than firstByteWait: from here the client's leaving must
		// unblock the read at once.
		rs.hook(ctx, nc)
		nc.SetReadDeadline(limit)
		_, err = br.Peek(1)
	}
	if err != nil {
		if pc.Reused() && upstream.IsConnGone(err) && ctx.Err() == nil {
			rs.stopHook()
			pc.Close()
			return outcomeReset, &upstream.StaleError{Written: true, Err: err}
		}
		return fail(err)
	}
	h := w.Header()
	opt := upstream.ReadOptions{MaxBytes: p.tr.fast.MaxResponseHeaderBytes(), DropHopByHop: true}
	for {
		if err := rs.rh.Read(br, r.Method, h, opt); err != nil {
			return fail(err)
		}
		code := rs.rh.StatusCode
		if code >= 200 {
			break
		}
		if code == http.StatusSwitchingProtocols {
			return fail(errors.New("upstream switched protocols without an Upgrade request"))
		}
		// 1xx informational (103 Early Hints) go to the client as they come;
		// a 100 Continue answers an Expect this path never sends.
		if code != http.StatusContinue {
			w.WriteHeader(code)
			rs.committed = true
		}
		clear(h)
	}
	if !first.IsZero() {
		nc.SetReadDeadline(time.Time{})
	}
	rs.ubody.Reset(p.tr.fast, pc, &rs.rh)
	code := rs.rh.StatusCode
	if pl.retryOn.status[code] {
		pl.observe(s, code < 500)
		if code >= 500 {
			s.mErrors.WithLabelValues("status_" + strconv.Itoa(code)).Inc()
		}
		return outcomeStatus, nil
	}
	pl.observe(s, code < 500)
	rs.server = s
	return outcomeOK, nil
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

// hook makes the client's cancellation unblock nc's reads and writes.
func (rs *reqState) hook(ctx context.Context, nc net.Conn) {
	if rs.stop == nil {
		rs.stop = context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	}
}

// stopHook removes the cancellation hook; it reports false when the hook
// already ran (the connection's deadline is spoiled).
func (rs *reqState) stopHook() bool {
	if rs.stop == nil {
		return true
	}
	ok := rs.stop()
	rs.stop = nil
	return ok
}

// discard drops a response that will be retried: a little of its body is
// read so the connection can be reused, as drain does.
func (rs *reqState) discard() {
	b := &rs.ubody
	if !b.Buffered() {
		rs.stopHook()
		b.CloseConn()
		return
	}
	_, err := b.WriteTo(io.Discard)
	if !rs.stopHook() || err != nil {
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
		rs.hook(r.Context(), rs.nc)
	}
	w.WriteHeader(rh.StatusCode)
	fw := &rs.fw
	fw.reset(w, flush)
	if flush {
		fw.flush()
	}
	_, err := b.WriteTo(fw)
	if !rs.stopHook() || err != nil {
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
