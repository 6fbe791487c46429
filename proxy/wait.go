package proxy

import (
	"context"
	"io"
	"time"

	"github.com/proxylab/proxylab/proxy/socket"
)

// The background wait: one per connection at a time, started once a
// request's body is done (or after its handler), it notices a client gone
// while a handler runs and parks the connection without buffers between
// requests.

// startBackground starts the one-byte read while a handler runs, once the
// request body is done and nothing is buffered.
func (c *conn) startBackground() {
	if c.br != nil && c.br.Buffered() > 0 {
		return
	}
	c.mu.Lock()
	if c.bg != bgNone || c.state == stateClosed || c.state == stateHijacked {
		c.mu.Unlock()
		return
	}
	c.bg = bgReading
	c.handlerDone = false
	c.running.Store(true)
	c.mu.Unlock()
	c.phase = phaseFixed
	// The deadline in force (the header's, the body's or the last idle
	// one) stays: await takes it off if it runs out while the handler runs.
	go c.awaitFn()
}

// await waits for the client: while a handler runs, the end of the
// connection cancels the request; after it, readable bytes start the next
// request and this goroutine serves it. On TCP it waits for readability
// without reading (one peek when the wait begins, and one to tell the end
// from a pipelined request when woken while a handler runs); on other
// connections it reads one byte.
func (c *conn) await() {
	var err error
	gone := false
	if c.raw != nil {
		for {
			c.waitCall, c.waitEOF = 0, false
			err = c.raw.Read(c.waitFn)
			if err == nil || !isTimeout(err) || !c.outlived() {
				break
			}
		}
		gone = c.waitEOF
		c.woke = err == nil && !gone
	} else {
		var n int
		n, err = c.rw.Read(c.one[:])
		if n == 1 {
			c.hasByte = true
		}
	}
	c.mu.Lock()
	c.bg, c.bgErr = bgDone, err
	if gone && err == nil {
		c.bgErr = io.EOF
	}
	if c.bgWait != nil {
		close(c.bgWait)
		c.bgWait = nil
	}
	if c.bgAbort {
		c.mu.Unlock()
		return
	}
	if !c.handlerDone {
		if (gone || err != nil && !isTimeout(err)) && c.cancelReq != nil {
			c.cancelReq.cancel(context.Canceled)
		}
		c.mu.Unlock()
		return
	}
	c.bg, c.bgErr, c.handlerDone = bgNone, nil, false
	closed := c.state == stateClosed
	c.mu.Unlock()
	if err != nil || closed {
		c.close()
		return
	}
	c.e.serveHere(c)
}

// outlived reports whether the deadline that ended a wait was one the
// wait outlived rather than its own: the request's (header, body) while
// the handler still runs, which it takes off, or one set before the idle
// deadline now in force. False: the wait is over (aborted, the handler's
// own deadline, or idle for IdleTimeout).
func (c *conn) outlived() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.bgAbort || c.fixedRead.Load():
		return false
	case !c.handlerDone:
		c.setReadDeadline(time.Time{})
		return true
	}
	return c.rdl.IsZero() || time.Now().Before(c.rdl) // rdl: the idle deadline afterRequest left in force
}

// readable is the wait's callback: false waits for the poller, true ends
// the wait.
func (c *conn) readable(fd uintptr) bool {
	// The first call must look: the poller forgets readiness seen before
	// the wait began.
	c.waitCall++
	if c.waitCall > 1 && !c.running.Load() {
		return true // woken after the handler: the next read tells
	}
	readable, end := socket.Peek(fd)
	if end {
		c.waitEOF = true
	}
	return readable
}

// abortBackground stops a background read and waits for it; a byte it took
// stays first in line.
func (c *conn) abortBackground() {
	c.mu.Lock()
	if c.bg != bgReading {
		c.bg, c.bgErr = bgNone, nil
		c.mu.Unlock()
		return
	}
	c.bgAbort = true
	wait := make(chan struct{})
	c.bgWait = wait
	c.mu.Unlock()
	c.rw.SetReadDeadline(aLongTimeAgo)
	<-wait
	c.setReadDeadline(time.Time{})
	c.mu.Lock()
	c.bg, c.bgErr, c.bgAbort = bgNone, nil, false
	c.mu.Unlock()
}
