package forward

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/proxylab/proxylab/proxy/upstream"
)

// Upstream clients, by route:
//
//	direct                 ──▶ upstream.Client, heads written and read by hand (direct.go)
//	direct, Expect         ──▶ http.Transport (waits for 100 Continue before the body)
//	through a parent       ──▶ http.Transport with Proxy set to the parent
//
// Direct clients dial only the vetted IP:port they are given; each kind is
// built on first use per response-header timeout and kept until Close.

// transportFor returns the Transport that sends a request on its route.
func (p *Proxy) transportFor(pol *policy, par *parentRoute) *http.Transport {
	if par == nil {
		return p.directFor(pol).t
	}
	return p.parentTransport(pol, par)
}

// directClients are the clients of direct routes for one response-header
// timeout; they are also in Proxy.transports, which Close walks.
type directClients struct {
	rht  time.Duration
	t    *http.Transport
	fast *upstream.Client
}

// directFor returns the direct clients for pol's response-header timeout,
// found without building a key string in the common case.
func (p *Proxy) directFor(pol *policy) *directClients {
	rht := pol.cfg.Timeouts.ResponseHeader
	if d := p.direct.Load(); d != nil && d.rht == rht {
		return d
	}
	key := "direct " + rht.String()
	v, ok := p.transports.Load(key)
	if !ok {
		v, _ = p.transports.LoadOrStore(key, &directClients{rht: rht, t: p.newTransport(nil, rht), fast: p.newUpstream(rht)})
	}
	d := v.(*directClients)
	p.direct.Store(d)
	return d
}

// parentTransport returns the Transport that sends through par.
func (p *Proxy) parentTransport(pol *policy, par *parentRoute) *http.Transport {
	rht := pol.cfg.Timeouts.ResponseHeader
	c := *par.url
	if par.user != "" {
		c.User = url.UserPassword(par.user, par.pass)
	}
	key := c.String() + " " + rht.String()
	v, ok := p.transports.Load(key)
	if !ok {
		v, _ = p.transports.LoadOrStore(key, p.newTransport(&c, rht))
	}
	return v.(*http.Transport)
}

// closeIdle closes the idle upstream connections of every client; Close
// calls it.
func (p *Proxy) closeIdle() {
	p.transports.Range(func(_, v any) bool {
		switch c := v.(type) {
		case *http.Transport:
			c.CloseIdleConnections()
		case *directClients:
			c.t.CloseIdleConnections()
			_ = c.fast.Close()
		}
		return true
	})
}

// newUpstream builds the client of direct plain requests. Its pool is keyed
// by the vetted address in the request URL.
func (p *Proxy) newUpstream(responseHeader time.Duration) *upstream.Client {
	return upstream.New(upstream.Config{
		Dial:                   p.transportDial(false),
		MaxIdlePerHost:         64,
		IdleTimeout:            90 * time.Second,
		ResponseHeaderTimeout:  responseHeader,
		MaxResponseHeaderBytes: 64 << 10,
	})
}

// newTransport builds an upstream Transport. With parent nil it dials only
// the vetted IP:port the request URL carries; with a parent it sends every
// request there.
func (p *Proxy) newTransport(parent *url.URL, responseHeader time.Duration) *http.Transport {
	t := &http.Transport{
		DialContext:            p.transportDial(parent != nil),
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true, // relay bytes as they are
		ForceAttemptHTTP2:      false,
		MaxResponseHeaderBytes: 64 << 10,
	}
	t.ResponseHeaderTimeout = responseHeader
	if parent != nil {
		t.Proxy = http.ProxyURL(parent)
	}
	return t
}

// transportDial refuses anything but an IP:port for direct clients: the
// request URL must already carry the vetted address.
func (p *Proxy) transportDial(toParent bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		pol := p.pol.Load()
		ctx, cancel := context.WithTimeout(ctx, pol.cfg.Timeouts.Dial)
		defer cancel()
		if !toParent {
			if _, err := netip.ParseAddrPort(addr); err != nil {
				return nil, fmt.Errorf("forward transport: refusing to dial unvetted address %q", addr)
			}
		}
		return p.dialer.DialContext(ctx, network, addr)
	}
}
