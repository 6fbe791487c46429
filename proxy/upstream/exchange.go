package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"
)

// FirstByteWait is how long Exchange.Await waits for the upstream's first
// response byte before it hooks the client's cancellation to the
// connection: responses quicker than this never pay for the hook (a
// context.AfterFunc, five allocations).
const FirstByteWait = 20 * time.Millisecond

// aLongTimeAgo is a deadline in the past: it unblocks reads and writes.
var aLongTimeAgo = time.Unix(1, 0)

// errSwitched is a 101 answer to a request that asked for no Upgrade.
var errSwitched = errors.New("upstream switched protocols without an Upgrade request")

// Informer receives the informational (1xx) responses Await passes on;
// an http.ResponseWriter is one.
type Informer interface {
	// WriteHeader is called with the 1xx status while its fields are in
	// the header map given to Await (which is cleared right after).
	WriteHeader(code int)
}

// AwaitOptions bound and direct Exchange.Await. The zero value waits
// without bound, drops hop-by-hop fields and skips 1xx responses.
type AwaitOptions struct {
	// Start is when Timeout runs from and the first-byte wait starts; the
	// zero time means when Await is called (a caller that read the clock
	// just before writing the request passes that reading).
	Start time.Time
	// Timeout bounds the wait for the final response head from Start (the
	// response header timeout); 0 means no bound.
	Timeout time.Duration
	// Deadline bounds the wait as well when set (the end of a per-try
	// timeout); the earlier of the two applies. The zero time means none.
	Deadline time.Time
	// Informational receives each 1xx response (103 Early Hints) except
	// 100 Continue, which is dropped (it answers an Expect this way never
	// sends), and 101, which fails the exchange; nil skips them all.
	Informational Informer
	// KeepHopByHop keeps the hop-by-hop fields in the header map (for an
	// http.Response whose user removes them itself); false drops them, as
	// a proxy forwarding the head must.
	KeepHopByHop bool
}

// Exchange is one request on one upstream HTTP/1.1 connection, from
// writing it to the final response head, with the rules every sender
// shares:
//
//	Begin(ctx, c, pc, method) ─▶ Send(head, body) | write + Sent(err)
//	  │   a pooled connection that fails before any response byte:
//	  │   *StaleError (Written: whether the request went out whole);
//	  │   MayResend tells whether to try once more on a new connection
//	  ▼
//	Await: short read deadline (FirstByteWait) ─slower─▶ hook the client's
//	  cancellation to the connection (ctx ends ⇒ the read fails at once),
//	  then the full bound (Timeout, Deadline) ─▶ 1xx: Informer / dropped /
//	  101 refused ─▶ final head, read deadline cleared
//
// Every failure closes the connection, removes the hook and returns ctx's
// error when the client left. On success the connection is the caller's:
// it reads the body (Body.Reset with Conn), with Hook armed when the body
// may block, and ends with Unhook. The zero Exchange is ready for Begin; it
// holds no per-request allocation, so that it can live in a pooled
// per-request state.
type Exchange struct {
	c        *Client
	pc       *Conn
	ctx      context.Context
	method   string
	stop     func() bool // ends the cancellation hook; nil: none
	informed bool
}

// ProbeFor reports whether a pooled connection must be checked before a
// request is sent on it (Client.Get's probe): a request that cannot be
// resent after a stale connection (not idempotent, or with a body) is
// checked; an idempotent one without a body is resent instead.
func ProbeFor(idempotent, body bool) bool { return !idempotent || body }

// MayResend reports whether a try that failed with err may be sent once
// more on a new connection: the pooled connection had been closed by the
// upstream (*StaleError), and the request was not written whole or may be
// sent twice. The caller must also have the body again (none, in memory,
// or from GetBody), and resends once only.
func MayResend(err error, idempotent bool) bool {
	var se *StaleError
	return errors.As(err, &se) && (!se.Written || idempotent)
}

// Begin starts a try of a request with method on pc, which c handed out;
// ctx ending (the client leaving) ends the exchange.
func (x *Exchange) Begin(ctx context.Context, c *Client, pc *Conn, method string) {
	x.Unhook()
	*x = Exchange{c: c, pc: pc, ctx: ctx, method: method}
}

// Conn is the try's connection.
func (x *Exchange) Conn() *Conn { return x.pc }

// Informed reports whether a 1xx response was passed to an Informer since
// Begin: nothing may be resent once bytes reached the client.
func (x *Exchange) Informed() bool { return x.informed }

// Send writes head and body (nil: none) to the connection and flushes it;
// the error is Sent's.
func (x *Exchange) Send(head *RequestHead, body []byte) error {
	bw := x.pc.bw
	err := head.Write(bw)
	if err == nil && len(body) > 0 {
		_, err = bw.Write(body)
	}
	if err == nil {
		// Let the other runnable goroutines write theirs first: the requests
		// then go out together, and an upstream that sleeps between requests
		// on another core is woken once for all of them instead of once
		// each (a costly interrupt on virtual machines). With nothing else
		// runnable it returns at once.
		runtime.Gosched()
		err = bw.Flush()
	}
	return x.Sent(err)
}

// Sent takes the outcome of writing and flushing the request by hand. On
// error the connection is closed, and the error returned is ctx's when the
// client left, a *StaleError (Written false) when a pooled connection was
// found closed, err otherwise.
func (x *Exchange) Sent(err error) error {
	if err == nil {
		return nil
	}
	return x.fail(err, false)
}

// Fail ends the try for a reason of the caller's: the connection is
// closed, the hook removed; it returns ctx's error when the client left,
// err otherwise.
func (x *Exchange) Fail(err error) error {
	x.Unhook()
	x.pc.Close()
	if cerr := x.ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// fail ends the try on an I/O error before any response byte: a pooled
// connection that the peer closed is stale.
func (x *Exchange) fail(err error, written bool) error {
	err = x.Fail(err)
	if x.pc.reused && x.ctx.Err() == nil && IsConnGone(err) {
		return &StaleError{Written: written, Err: err}
	}
	return err
}

// Await reads the final response head into rh, its fields into h (which
// should be empty; it is left empty on error). The first response byte is
// awaited under a deadline of FirstByteWait (unless Hook was armed); an
// upstream slower than that gets the client's cancellation hooked to the
// connection and the rest of opt's bound.
func (x *Exchange) Await(rh *ResponseHead, h http.Header, opt AwaitOptions) error {
	nc := x.pc.c
	now := opt.Start
	if now.IsZero() {
		now = time.Now()
	}
	var limit time.Time
	if opt.Timeout > 0 {
		limit = now.Add(opt.Timeout)
	}
	if d := opt.Deadline; !d.IsZero() && (limit.IsZero() || d.Before(limit)) {
		limit = d
	}
	// (ctx.Done is not asked: on a server's context it would allocate the
	// channel; a context that cannot end costs only the short deadline.)
	first := limit
	if x.stop == nil {
		if short := now.Add(FirstByteWait); first.IsZero() || short.Before(first) {
			first = short
		}
	}
	if !first.IsZero() {
		// The last exchange's deadline, still on the socket, bounds this
		// first byte as well when it ends at most a quarter of
		// FirstByteWait before the one this wait would set: requests that
		// follow each other closely change no timer.
		if pc := x.pc; !pc.lapse || first.Equal(limit) || pc.lapseAt.After(first) || first.Sub(pc.lapseAt) > FirstByteWait/4 {
			nc.SetReadDeadline(first)
			pc.lapseAt = first
		}
		x.pc.lapse = false
	}
	br := x.pc.br
	if br.Buffered() == 0 {
		// Let the other runnable goroutines go first: by the time this one
		// reads, the upstream's answer has often arrived, which saves the
		// read that finds nothing and the park before the real one.
		runtime.Gosched()
	}
	_, err := br.Peek(1)
	if err != nil && !first.Equal(limit) && isTimeout(err) && x.ctx.Err() == nil {
		// Slower than FirstByteWait: from here the client's leaving must
		// unblock the read at once.
		x.Hook()
		nc.SetReadDeadline(limit) // the zero time: no bound
		x.pc.lapseAt = limit
		_, err = br.Peek(1)
	}
	if err != nil {
		return x.fail(err, true)
	}
	opts := ReadOptions{MaxBytes: x.c.cfg.MaxResponseHeaderBytes, DropHopByHop: !opt.KeepHopByHop}
	for {
		if err := rh.Read(br, x.method, h, opts); err != nil {
			clear(h)
			return x.Fail(err)
		}
		code := rh.StatusCode
		if code >= 200 {
			break
		}
		if code == http.StatusSwitchingProtocols {
			clear(h)
			return x.Fail(errSwitched)
		}
		if opt.Informational != nil && code != http.StatusContinue {
			opt.Informational.WriteHeader(code)
			x.informed = true
		}
		clear(h)
	}
	if !first.IsZero() {
		// Left on the socket: the next read (of a body that was not read
		// with the head) takes it off, and the next Await sets its own.
		x.pc.lapse = true
	}
	return nil
}

// Hook makes ctx's end unblock the connection's reads and writes at once
// (by a deadline in the past): for a request body that may block, or a
// response body read after Await. It is armed once; Unhook removes it.
func (x *Exchange) Hook() {
	if x.stop == nil {
		x.pc.unlapse() // before the hook, which may set a deadline of its own
		nc := x.pc.c
		x.stop = context.AfterFunc(x.ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	}
}

// Unhook removes the cancellation hook; it reports false when the hook
// already ran: the connection's deadline is spoiled, so it must not be
// pooled.
func (x *Exchange) Unhook() bool {
	if x.stop == nil {
		return true
	}
	ok := x.stop()
	x.stop = nil
	return ok
}

// isTimeout reports a deadline's expiry.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
