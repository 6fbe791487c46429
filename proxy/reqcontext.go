package proxy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// requestContext is the context of a request the own loop serves: the
// connection's values, cancelled when the handler returns, when the client
// goes while it runs, or when the engine closes. It lives in the request's
// response and costs nothing until someone waits on it: context.WithCancel
// would allocate twice and register every request with the engine's
// context under one lock, while most handlers never ask. The channel is
// made by the first Done; the engine's cancellation is hooked then, or by
// the first AfterFunc (which context.AfterFunc and context.WithCancel use
// on it, so deriving from it starts no goroutine).
type requestContext struct {
	parent context.Context
	done   atomic.Value // chan struct{}, made by Done

	mu     sync.Mutex
	err    error
	unhook func() bool // undoes the hook on parent's cancellation
	afters map[*func()]struct{}
}

var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// Deadline is the parent's: requests have none of their own.
func (c *requestContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns a channel closed once the request is cancelled.
func (c *requestContext) Done() <-chan struct{} {
	if d := c.done.Load(); d != nil {
		return d.(chan struct{})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.done.Load(); d != nil {
		return d.(chan struct{})
	}
	if c.err != nil {
		c.done.Store(closedChan)
		return closedChan
	}
	ch := make(chan struct{})
	c.done.Store(ch)
	c.hookLocked()
	return ch
}

// Err is nil until the request is cancelled: context.Canceled, or the
// parent's error when the engine closed.
func (c *requestContext) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err = c.parent.Err(); err != nil {
		c.cancel(err)
	}
	return err
}

// Value is the parent's, except the context package's own cancelCtx,
// which it finds through Value: hidden, so context.Cause asks this
// context's Err and derived contexts use AfterFunc instead of registering
// with the engine's context, which outlives the request.
func (c *requestContext) Value(key any) any {
	v := c.parent.Value(key)
	if _, internal := v.(context.Context); internal {
		return nil
	}
	return v
}

// AfterFunc arranges for f to run in its own goroutine once the request is
// cancelled (at once if it is); stop undoes that and reports whether it
// did. context.AfterFunc and context.WithCancel use it.
func (c *requestContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	key := &f
	if c.afters == nil {
		c.afters = make(map[*func()]struct{})
	}
	c.afters[key] = struct{}{}
	c.hookLocked()
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, waiting := c.afters[key]
		delete(c.afters, key)
		return waiting
	}
}

// String names the context in panics and logs.
func (c *requestContext) String() string { return "proxy.requestContext" }

// hookLocked makes the parent's cancellation cancel the request, once.
func (c *requestContext) hookLocked() {
	if c.unhook != nil || c.parent.Done() == nil {
		return
	}
	parent := c.parent
	c.unhook = context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
}

// cancel ends the request with err (the first error stays): the channel
// closes and the functions given to AfterFunc start.
func (c *requestContext) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if d := c.done.Load(); d != nil {
		close(d.(chan struct{}))
	}
	afters, unhook := c.afters, c.unhook
	c.afters = nil
	c.mu.Unlock()
	if unhook != nil {
		unhook()
	}
	for f := range afters {
		go (*f)()
	}
}
