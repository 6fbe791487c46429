package forward

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/proxylab/proxylab/proxy"
)

// clientRates holds one token bucket per client IP.
type clientRates struct {
	mu      sync.Mutex
	clients map[netip.Addr]*clientRate
	swept   time.Time
}

type clientRate struct {
	limit rate.Limit
	lim   *rate.Limiter
	seen  time.Time
}

// maxTrackedClients bounds the table; idle entries are swept beyond it.
const maxTrackedClients = 4096

func newClientRates() *clientRates {
	return &clientRates{clients: make(map[netip.Addr]*clientRate)}
}

// allow takes one token for client at perSecond (0 = unlimited).
func (c *clientRates) allow(client netip.Addr, perSecond float64) bool {
	if perSecond <= 0 {
		return true
	}
	now := time.Now()
	limit := rate.Limit(perSecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.clients[client]
	if e == nil || e.limit != limit {
		burst := max(1, int(perSecond*DefaultRateBurstFactor))
		e = &clientRate{limit: limit, lim: rate.NewLimiter(limit, burst)}
		c.clients[client] = e
	}
	e.seen = now
	if len(c.clients) > maxTrackedClients && now.Sub(c.swept) > time.Second {
		c.swept = now
		for k, v := range c.clients {
			if now.Sub(v.seen) > time.Minute {
				delete(c.clients, k)
			}
		}
	}
	return e.lim.AllowN(now, 1)
}

// Listener wraps ln so the proxy counts client connections and enforces
// limits.max_conns: a connection over the limit is answered
// "503 Service Unavailable" with a Proxy-Status reason and closed before any
// request is read. The proxy also learns ln's address, so the SSRF guard
// refuses to dial itself. Serve the proxy on the returned listener.
func (p *Proxy) Listener(ln net.Listener) net.Listener {
	p.addSelf(ln.Addr())
	return &limitListener{Listener: ln, p: p}
}

type limitListener struct {
	net.Listener
	p *Proxy
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.p.conns.Add(1)
		pol := l.p.pol.Load()
		if max := pol.cfg.Limits.MaxConns; max > 0 && n > int64(max) {
			l.p.conns.Add(-1)
			l.p.rejectConn(c, pol, "limits.max_conns", fmt.Sprintf("too many client connections (limits.max_conns %d)", max))
			continue
		}
		return &limitConn{Conn: c, p: l.p}, nil
	}
}

// rejectConn answers 503 on a fresh connection and closes it. The response
// fits in the socket buffer of a new connection, so the short deadline only
// guards against the impossible.
func (p *Proxy) rejectConn(c net.Conn, pol *policy, rule, detail string) {
	d := deny(503, "connection_limit_reached", rule, "%s", detail)
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	body := "503 Service Unavailable: " + detail + "\n"
	_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\n" +
		"Proxy-Status: " + d.proxyStatus(pol.cfg.Via) + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
	_ = c.Close()
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	rec := &record{start: time.Now(), proto: "http", client: unmapPort(ap)}
	rec.deny(d)
	p.finish(rec)
}

// limitConn releases its slot once, on Close.
type limitConn struct {
	net.Conn
	p    *Proxy
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.p.conns.Add(-1) })
	return err
}

// NetConn returns the connection under the wrapper: the server reads and
// writes its socket directly (proxy/socket); the slot is still released by
// Close.
func (c *limitConn) NetConn() net.Conn { return c.Conn }

// SyscallConn exposes the socket under the wrapper, so that the server can
// wait for a kept-alive connection's next request without reading (the
// proxylab engine parks on readability; without it, it parks in a one-byte
// read, a syscall more per request).
func (c *limitConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// rawConn returns the connection under the server's framing check and the
// proxy's own limitConn wrapper (only those: a *tls.Conn must never be
// unwrapped), so tunnels can use splice(2) between raw TCP sockets.
func rawConn(c net.Conn) net.Conn {
	c = proxy.Unframed(c)
	if lc, ok := c.(*limitConn); ok {
		return lc.Conn
	}
	return c
}

var (
	_ net.Listener = (*limitListener)(nil)
	_ net.Conn     = (*limitConn)(nil)
	_ syscall.Conn = (*limitConn)(nil)
)
