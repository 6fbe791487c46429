package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// connSlot holds the keep-alive connection of one worker.
type connSlot struct {
	mu  sync.Mutex // held for the whole request: one request per connection at a time
	c   *fastConn
	buf []byte // the request with its id header, reused

	// The slot watches the ctx of its requests once, not once per request:
	// when it ends, the live connection's deadline is moved to the past,
	// which unblocks the request using it.
	watched   context.Context
	stopWatch func() bool
	live      atomic.Pointer[fastConn]
}

// use makes c the slot's connection (nil: none).
func (sl *connSlot) use(c *fastConn) {
	sl.c = c
	sl.live.Store(c)
}

// watch makes sure the end of ctx interrupts the slot's connection.
func (sl *connSlot) watch(ctx context.Context) {
	if sl.watched == ctx {
		return
	}
	sl.unwatch()
	sl.watched = ctx
	sl.stopWatch = context.AfterFunc(ctx, func() {
		if c := sl.live.Load(); c != nil {
			_ = c.nc.SetDeadline(time.Unix(1, 0))
		}
	})
}

func (sl *connSlot) unwatch() {
	if sl.stopWatch != nil {
		sl.stopWatch()
		sl.stopWatch, sl.watched = nil, nil
	}
}

func (sl *connSlot) close() {
	if !sl.mu.TryLock() {
		return // in use: the request closes it when it sees the doer closed
	}
	sl.unwatch()
	if sl.c != nil {
		_ = sl.c.nc.Close()
		sl.use(nil)
	}
	sl.mu.Unlock()
}

// slot returns worker w's connection slot, creating it on first use. The
// common case reads an immutable slice without locking.
func (d *HTTPDoer) slot(w int) *connSlot {
	if d.closed.Load() {
		return nil
	}
	w = max(w, 0)
	if sp := d.slots.Load(); sp != nil && w < len(*sp) {
		return (*sp)[w]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var cur []*connSlot
	if sp := d.slots.Load(); sp != nil {
		cur = *sp
	}
	if w < len(cur) {
		return cur[w]
	}
	grown := make([]*connSlot, max(w+1, 2*len(cur)))
	copy(grown, cur)
	for i := len(cur); i < len(grown); i++ {
		grown[i] = &connSlot{}
	}
	d.slots.Store(&grown)
	return grown[w]
}

// lease says how a request holds its connection slot.
type lease uint8

const (
	leaseOwn  lease = iota // the worker's own slot
	leasePool              // a slot of the MaxConns pool, given back to it
	leaseTemp              // a slot of its own, closed after the request
)

// acquire returns the connection slot to use for worker w and how it is
// held (for release). With MaxConns the slot comes from the pool (waiting
// for a free one while ctx lasts); otherwise it is the worker's own.
func (d *HTTPDoer) acquire(ctx context.Context, w int) (*connSlot, lease, error) {
	if d.closed.Load() {
		return nil, 0, errClosed
	}
	if d.pool != nil {
		select {
		case sl := <-d.pool:
			sl.mu.Lock()
			return sl, leasePool, nil
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
	sl := d.slot(w)
	if sl == nil {
		return nil, 0, errClosed
	}
	if !sl.mu.TryLock() {
		// Another request holds this worker's connection (workers of two
		// phases overlapping): use a connection of its own.
		own := &connSlot{}
		own.mu.Lock()
		return own, leaseTemp, nil
	}
	return sl, leaseOwn, nil
}

// release gives back a slot taken by acquire.
func (d *HTTPDoer) release(sl *connSlot, l lease) {
	sl.mu.Unlock()
	switch l {
	case leasePool:
		d.pool <- sl
	case leaseTemp:
		sl.close() // close unwatches
	}
}

// doFast sends the pre-serialized request on the worker's connection (dialing
// when it has none) and parses the response. A reused connection that fails
// before any response byte (the server closed it while idle) is retried once
// on a fresh one.
func (d *HTTPDoer) doFast(ctx context.Context, s Slot) Result {
	res := Result{Tags: Tags{Client: d.cfg.Client}}
	sl, l, err := d.acquire(ctx, s.Worker)
	if err != nil {
		res.Err = classify(ctx, err)
		return res
	}
	defer d.release(sl, l)
	// Raw latency starts once a connection is ours: a wait for a pooled
	// connection is queueing, which corrected latency shows.
	start := time.Now()
	res.Start = start
	if err := ctx.Err(); err != nil {
		res.Err = classify(ctx, err)
		return res
	}
	sl.watch(ctx)

	deadline := start.Add(d.cfg.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	for attempt := 0; ; attempt++ {
		reused := sl.c != nil
		if !reused {
			c, err := d.dialConn(ctx, deadline)
			if err != nil {
				res.Err = classify(ctx, err)
				res.Raw = time.Since(start)
				return res
			}
			sl.use(c)
		}
		got, keep, err := d.roundTrip(ctx, sl.c, d.requestFor(sl, s), start, deadline, &res)
		if err == nil && keep && !d.isClosed() {
			res.Raw = time.Since(start)
			return res
		}
		_ = sl.c.nc.Close()
		sl.use(nil)
		if err == nil {
			res.Raw = time.Since(start)
			return res
		}
		// A stale connection fails fast (EOF, reset); a timeout is the
		// server's silence, which a retry would only double.
		if reused && !got && attempt == 0 && ctx.Err() == nil && !isTimeout(err) && time.Now().Before(deadline) {
			continue
		}
		res.Status, res.Bytes = 0, 0
		res.Err = classify(ctx, err)
		res.Raw = time.Since(start)
		return res
	}
}

func (d *HTTPDoer) isClosed() bool { return d.closed.Load() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (d *HTTPDoer) dialConn(ctx context.Context, deadline time.Time) (*fastConn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := d.dial(dctx, "tcp", d.dialAddr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return newFastConn(nc), nil
}

// roundTrip sends the request (now is when) and reads one response into res. got reports
// whether any response byte arrived; keep whether the connection may be
// reused.
func (d *HTTPDoer) roundTrip(ctx context.Context, c *fastConn, request []byte, now, deadline time.Time, res *Result) (got, keep bool, err error) {
	// Moving a deadline costs a runtime timer update: skip it while the one
	// set is within 1% of the wanted one (a timeout then fires between 99%
	// and 100% of HTTPConfig.Timeout).
	if deadline.Before(c.deadline) || deadline.Sub(c.deadline) > d.cfg.Timeout/100 {
		if err := c.nc.SetDeadline(deadline); err != nil {
			return false, false, err
		}
		c.deadline = deadline
		if err := ctx.Err(); err != nil {
			return false, false, err // ended while we moved the deadline
		}
	}
	if err := c.send(request, now); err != nil {
		return false, false, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return false, false, err
	}
	r := responseReader{br: c.br, head: d.cfg.Method == "HEAD", serverHdr: d.serverHdrName, lastServer: c.lastServer}
	if err := r.read(); err != nil {
		return true, false, err
	}
	res.Status, res.Bytes = r.status, r.bodyBytes
	if r.server != "" {
		res.Tags.Server = r.server
		c.lastServer = r.server
	}
	return true, r.keepAlive && !d.cfg.NoKeepAlive, nil
}

// requestFor returns the bytes to send for s: the pre-serialized request, with
// the id header spliced in when one is configured.
func (d *HTTPDoer) requestFor(sl *connSlot, s Slot) []byte {
	if d.idPrefix == nil {
		return d.request
	}
	b := append(sl.buf[:0], d.request[:d.headLen]...)
	b = append(b, d.idPrefix...)
	b = strconv.AppendUint(b, s.Seq, 10)
	b = append(b, "\r\n"...)
	b = append(b, d.request[d.headLen:]...)
	sl.buf = b
	return b
}

// discardN reads and drops n bytes.
func discardN(br *bufio.Reader, n int64) (int64, error) {
	var done int64
	for done < n {
		k := min(n-done, 1<<30)
		m, err := br.Discard(int(k))
		done += int64(m)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return done, err
		}
	}
	return done, nil
}
