package reverse

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxylab/proxylab/proxy/upstream"
)

// transports are the upstream HTTP clients of a Proxy: one for HTTP/1.1
// (and h2 over TLS), one for cleartext HTTP/2 with prior knowledge. Both
// dial through a dialer that counts open connections per address for the
// circuit breaker.
type transports struct {
	h1, h2c *http.Transport
	fast    *upstream.Client // nil when WithStdTransport
	conns   sync.Map         // "host:port" → *connCount
	h2cHost sync.Map         // "host:port" of h2c servers → struct{}
}

// probe is the RoundTripper of health checks: h2c servers get probed over
// h2c, the rest over http.Transport.
type probe struct{ t *transports }

func (p probe) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, ok := p.t.h2cHost.Load(r.URL.Host); ok && r.URL.Scheme == "http" {
		return p.t.h2c.RoundTrip(r)
	}
	return p.t.h1.RoundTrip(r)
}

// connCount is the number of open connections to one address.
type connCount struct{ n atomic.Int64 }

// Open returns the number of open connections.
func (c *connCount) Open() int64 { return c.n.Load() }

func (t *transports) counter(addr string) *connCount {
	if c, ok := t.conns.Load(addr); ok {
		return c.(*connCount)
	}
	c, _ := t.conns.LoadOrStore(addr, new(connCount))
	return c.(*connCount)
}

func newTransports(cfg Config, tlsConfig *tls.Config, fast bool) *transports {
	t := &transports{}
	d := &net.Dialer{Timeout: cfg.Timeouts.Dial, KeepAlive: cfg.Timeouts.Idle}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc := t.counter(addr)
		cc.n.Add(1)
		return &countedConn{Conn: c, count: cc}, nil
	}
	base := func() *http.Transport {
		return &http.Transport{
			Proxy:                  nil, // never chain through $HTTP_PROXY
			DialContext:            dial,
			TLSClientConfig:        tlsConfig,
			TLSHandshakeTimeout:    cfg.Timeouts.Dial,
			MaxIdleConns:           0, // no global cap; per host below
			MaxIdleConnsPerHost:    cfg.Limits.MaxIdleConnsPerHost,
			IdleConnTimeout:        cfg.Timeouts.Idle,
			ResponseHeaderTimeout:  cfg.Timeouts.ResponseHeader,
			ExpectContinueTimeout:  time.Second,
			MaxResponseHeaderBytes: int64(cfg.Limits.MaxHeaderBytes),
			DisableCompression:     true, // pass encodings through untouched
			WriteBufferSize:        16 << 10,
			ReadBufferSize:         16 << 10,
		}
	}
	t.h1 = base()
	t.h1.ForceAttemptHTTP2 = true // h2 over TLS upstreams when ALPN agrees
	t.h2c = base()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	t.h2c.Protocols = p
	t.h2c.HTTP2 = &http.HTTP2Config{}
	if fast {
		t.fast = upstream.New(upstream.Config{
			Dial:                   dial,
			MaxIdlePerHost:         cfg.Limits.MaxIdleConnsPerHost,
			IdleTimeout:            cfg.Timeouts.Idle,
			ResponseHeaderTimeout:  cfg.Timeouts.ResponseHeader,
			MaxResponseHeaderBytes: cfg.Limits.MaxHeaderBytes,
		})
	}
	return t
}

// closeIdle closes every pooled idle connection.
func (t *transports) closeIdle() {
	t.h1.CloseIdleConnections()
	t.h2c.CloseIdleConnections()
	if t.fast != nil {
		t.fast.Close()
	}
}

// countedConn decrements its counter once when closed.
type countedConn struct {
	net.Conn
	count  *connCount
	closed atomic.Bool
}

// NetConn returns the TCP connection, for upstream's liveness probe.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.count.n.Add(-1)
	}
	return c.Conn.Close()
}
