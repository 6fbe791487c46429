package upstream

import (
	"context"
	"net"
	"sync"
	"time"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultDialTimeout            = 2 * time.Second
	DefaultMaxIdlePerHost         = 256
	DefaultIdleTimeout            = 90 * time.Second
	DefaultMaxResponseHeaderBytes = 64 << 10
	DefaultBufferSize             = 16 << 10
)

// ProbeAfter is how long a pooled connection may sit idle before Get
// probes it even when the caller did not ask for a probe: an upstream's idle
// timeout may write a stray response (408) before it closes, which only the
// probe sees, and idle timeouts are seconds long. Under load connections
// come back within microseconds and skip the probe's syscall.
const ProbeAfter = time.Second

// Config configures a Client. Every zero value means the default named on
// its field.
type Config struct {
	// Dial opens connections; nil means a net.Dialer bounded by DialTimeout.
	// A dialer that wraps connections can expose the TCP connection with a
	// NetConn() net.Conn method: the liveness probe then reaches its socket,
	// and reads and writes go to the socket directly (proxy/socket), past
	// the wrapper's Read and Write; its Close and deadlines are still used.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds the default dialer; 0 means DefaultDialTimeout (2s).
	// It is not used when Dial is set.
	DialTimeout time.Duration
	// MaxIdlePerHost caps pooled idle connections per address; 0 means
	// DefaultMaxIdlePerHost (256); negative means no pooling.
	MaxIdlePerHost int
	// IdleTimeout closes pooled connections idle this long; 0 means
	// DefaultIdleTimeout (90s); negative means never.
	IdleTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a response head after the
	// request is written (RoundTrip; callers that read heads themselves ask
	// Client.ResponseHeaderTimeout); 0 means no bound.
	ResponseHeaderTimeout time.Duration
	// MaxResponseHeaderBytes caps a response head; 0 means
	// DefaultMaxResponseHeaderBytes (64 KiB).
	MaxResponseHeaderBytes int
	// BufferSize is the size of each connection's read and write buffer; 0
	// means DefaultBufferSize (16 KiB).
	BufferSize int
}

func (c Config) withDefaults() Config {
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Dial == nil {
		d := &net.Dialer{Timeout: c.DialTimeout}
		c.Dial = d.DialContext
	}
	if c.MaxIdlePerHost == 0 {
		c.MaxIdlePerHost = DefaultMaxIdlePerHost
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxResponseHeaderBytes <= 0 {
		c.MaxResponseHeaderBytes = DefaultMaxResponseHeaderBytes
	}
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultBufferSize
	}
	return c
}

// Client is a pool of HTTP/1.1 connections keyed by address. It runs each
// exchange in the calling goroutine: there are no per-connection read and
// write loops to hand over to, which saves several goroutine switches per
// request compared with http.Transport. Connections are reused LIFO. A
// Client is safe for concurrent use.
type Client struct {
	cfg Config

	mu        sync.Mutex
	idle      map[string][]*Conn
	closed    bool
	lastSweep time.Time
}

// New returns a Client with cfg's defaults applied.
func New(cfg Config) *Client {
	return &Client{cfg: cfg.withDefaults(), idle: make(map[string][]*Conn)}
}

// ResponseHeaderTimeout returns the configured bound on the wait for a
// response head; 0 means none.
func (h *Client) ResponseHeaderTimeout() time.Duration { return h.cfg.ResponseHeaderTimeout }

// MaxResponseHeaderBytes returns the cap on a response head.
func (h *Client) MaxResponseHeaderBytes() int { return h.cfg.MaxResponseHeaderBytes }

// Get returns a connection to addr ("host:port"): a pooled one (Reused
// reports true) or a new one. A pooled connection is checked with a
// non-blocking peek when probe is set or when it sat idle for ProbeAfter;
// pass probe for requests that cannot be resent on a fresh connection
// should the pooled one turn out dead (non-idempotent ones, or ones with a
// body that cannot be replayed). The caller hands the connection back with
// Put once a response was read whole, or closes it.
func (h *Client) Get(ctx context.Context, addr string, probe bool) (*Conn, error) {
	if pc := h.Idle(addr, probe); pc != nil {
		return pc, nil
	}
	return h.Dial(ctx, addr)
}

// Idle returns a pooled connection to addr, checked as Get does, or nil
// when there is none: a caller that counts requests waiting for a new
// connection calls Idle, then Dial.
func (h *Client) Idle(addr string, probe bool) *Conn {
	now := time.Now()
	for {
		h.mu.Lock()
		list := h.idle[addr]
		if len(list) == 0 {
			h.mu.Unlock()
			return nil
		}
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		h.idle[addr] = list[:len(list)-1]
		h.mu.Unlock()
		idle := now.Sub(pc.idleAt)
		// The probe is a syscall: it runs outside the lock so that it never
		// holds up other requests' Gets.
		if h.cfg.IdleTimeout > 0 && idle > h.cfg.IdleTimeout || (probe || idle >= ProbeAfter) && !pc.alive() {
			pc.c.Close()
			continue
		}
		pc.reused = true
		return pc
	}
}

// Dial opens a new connection to addr, bypassing the pool.
func (h *Client) Dial(ctx context.Context, addr string) (*Conn, error) {
	c, err := h.cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newConn(c, addr, h.cfg.BufferSize), nil
}

// Put returns a connection to the pool. The caller must have read the last
// response whole; a connection with unread bytes, or beyond the idle cap,
// is closed instead.
func (h *Client) Put(pc *Conn) {
	now := time.Now()
	pc.idleAt = now
	h.mu.Lock()
	if h.closed || len(h.idle[pc.addr]) >= h.cfg.MaxIdlePerHost || pc.br.Buffered() > 0 {
		h.mu.Unlock()
		pc.c.Close()
		return
	}
	h.idle[pc.addr] = append(h.idle[pc.addr], pc)
	var expired []*Conn
	if h.cfg.IdleTimeout > 0 && now.Sub(h.lastSweep) > time.Second {
		// Connections to servers that get no traffic any more (removed,
		// drained) are only ever looked at here.
		h.lastSweep = now
		expired = h.sweepLocked(now)
	}
	h.mu.Unlock()
	for _, c := range expired {
		c.c.Close()
	}
}

// sweepLocked takes out the connections idle longer than IdleTimeout; the
// caller closes them outside the lock.
func (h *Client) sweepLocked(now time.Time) []*Conn {
	var expired []*Conn
	for addr, list := range h.idle {
		keep := list[:0]
		for _, pc := range list {
			if now.Sub(pc.idleAt) > h.cfg.IdleTimeout {
				expired = append(expired, pc)
			} else {
				keep = append(keep, pc)
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(h.idle, addr)
		} else {
			h.idle[addr] = keep
		}
	}
	return expired
}

// CloseIdle closes every pooled connection; the Client stays usable.
func (h *Client) CloseIdle() {
	h.mu.Lock()
	idle := h.idle
	h.idle = make(map[string][]*Conn)
	h.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.c.Close()
		}
	}
}

// Close closes every pooled connection and stops pooling: connections handed
// back later are closed. Requests may still be sent. It is idempotent.
func (h *Client) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.CloseIdle()
	return nil
}
