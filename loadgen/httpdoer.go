package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of HTTPConfig.
const (
	DefaultHTTPTimeout  = 30 * time.Second
	DefaultServerHeader = "X-Sim-Server"
)

// HTTPConfig describes the one request an HTTPDoer sends, over and over.
type HTTPConfig struct {
	// Method is the request method; "" means GET.
	Method string
	// URL is the target, http:// only (https:// goes through net/http).
	URL string
	// Header is sent with every request; Host here overrides the URL's host.
	Header http.Header
	// Body is sent with every request; nil means no body.
	Body []byte
	// NoKeepAlive closes the connection after every response; false (the
	// default) reuses connections.
	NoKeepAlive bool
	// Proxy is a forward proxy URL (http://[user:pass@]host:port); requests
	// then go to it in absolute form, with Basic Proxy-Authorization when the
	// URL has a user. "" means direct.
	Proxy string
	// H2C speaks HTTP/2 over cleartext (prior knowledge) through
	// golang.org/x/net/http2 instead of HTTP/1.1.
	H2C bool
	// Timeout bounds one request, dial included; 0 means DefaultHTTPTimeout.
	Timeout time.Duration
	// Client is put in every Result's Tags.Client; "" leaves it empty.
	Client string
	// ServerHeader is the response header whose value goes in Tags.Server;
	// "" means DefaultServerHeader, "-" means none.
	ServerHeader string
	// MaxConns caps the connections open at once: a request finding them all
	// busy waits for one (the wait shows in corrected latency, not in raw).
	// 0 means one connection per worker (Slot.Worker), which suits closed
	// loop; open loop at high rates wants a cap, like wrk2's -c.
	MaxConns int
	// IDHeader, when set, adds a header of that name with a unique request id,
	// "<Client>-<Slot.Seq>" ("load-<Seq>" without a Client), to every request
	// (proxylab's X-Proxylab-Id). "" adds none.
	IDHeader string
}

// HTTPOption configures an HTTPDoer.
type HTTPOption func(*HTTPDoer)

// WithDialer makes the doer dial with fn instead of a net.Dialer (to bind a
// source address, or go through a simulated link).
func WithDialer(fn func(ctx context.Context, network, addr string) (net.Conn, error)) HTTPOption {
	return func(d *HTTPDoer) { d.dial = fn }
}

// HTTPDoer is the fast built-in HTTP/1.1 client used by `proxylab load`. Each
// connection is driven by the goroutine of the request using it, which writes
// pre-serialized request bytes and parses the response with a minimal parser
// (status line, Content-Length or chunked framing, Connection: close) over the
// connection's reused buffer, allocating nothing per request. On a
// keep-alive socket the request is written from inside the read that waits
// for its response (see fastConn): one write(2) and one read(2). H2C and
// https go through golang.org/x/net/http2 and net/http. Connections are kept
// per Slot.Worker, so a closed-loop worker keeps its own connection, or in a
// pool of MaxConns shared by all workers (open loop). A reused connection that
// turns out closed by the server is retried once on a fresh one, before any
// response byte. Close closes them all.
type HTTPDoer struct {
	cfg           HTTPConfig
	target        *url.URL
	dialAddr      string // host:port the connections go to (target or proxy)
	request       []byte // pre-serialized request head and body
	headLen       int    // request[:headLen] is the head without its final CRLF
	idPrefix      []byte // "IDHeader: client-" when IDHeader is set
	serverHdr     string
	serverHdrName []byte // serverHdr for the fast parser
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	std           *http.Client // fallback for h2c and https
	stdRequest    func(ctx context.Context) (*http.Request, error)

	mu     sync.Mutex                  // serialises growing slots
	slots  atomic.Pointer[[]*connSlot] // per worker; replaced, never mutated
	pool   chan *connSlot              // free slots when MaxConns > 0
	closed atomic.Bool
	once   sync.Once
}

// NewHTTPDoer checks cfg, applies its defaults and pre-serializes the request.
func NewHTTPDoer(cfg HTTPConfig, opts ...HTTPOption) (*HTTPDoer, error) {
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHTTPTimeout
	}
	if cfg.ServerHeader == "" {
		cfg.ServerHeader = DefaultServerHeader
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("http doer: url %q: %w", cfg.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http doer: url %q: want http://host[:port]/path or https://…", cfg.URL)
	}
	d := &HTTPDoer{cfg: cfg, target: u}
	if strings.ContainsAny(cfg.IDHeader, " :\r\n") {
		return nil, fmt.Errorf("http doer: id header %q: want a header name such as X-Proxylab-Id", cfg.IDHeader)
	}
	if cfg.ServerHeader != "-" {
		d.serverHdr = http.CanonicalHeaderKey(cfg.ServerHeader)
		d.serverHdrName = []byte(d.serverHdr)
	}
	var dialer net.Dialer
	d.dial = dialer.DialContext
	for _, opt := range opts {
		opt(d)
	}
	var proxyURL *url.URL
	if cfg.Proxy != "" {
		proxyURL, err = url.Parse(cfg.Proxy)
		if err != nil || proxyURL.Scheme != "http" || proxyURL.Host == "" {
			return nil, fmt.Errorf("http doer: proxy %q: want http://[user:pass@]host:port", cfg.Proxy)
		}
	}
	if cfg.H2C || u.Scheme == "https" {
		if err := d.setupStd(proxyURL); err != nil {
			return nil, err
		}
		return d, nil
	}
	d.dialAddr = hostPort(u)
	if proxyURL != nil {
		d.dialAddr = hostPort(proxyURL)
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("http doer: max conns %d: want 0 (one per worker) or more", cfg.MaxConns)
	}
	if cfg.MaxConns > 0 {
		d.pool = make(chan *connSlot, cfg.MaxConns)
		all := make([]*connSlot, cfg.MaxConns)
		for i := range all {
			all[i] = &connSlot{}
			d.pool <- all[i]
		}
		d.slots.Store(&all) // so that Close finds them
	}
	d.request = serializeRequest(cfg, u, proxyURL)
	d.headLen = bytes.Index(d.request, []byte("\r\n\r\n")) + 2
	if cfg.IDHeader != "" {
		client := cfg.Client
		if client == "" {
			client = "load"
		}
		d.idPrefix = []byte(http.CanonicalHeaderKey(cfg.IDHeader) + ": " + client + "-")
	}
	return d, nil
}

// hostPort is u's host with the scheme's default port when it has none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// serializeRequest writes the request once: origin form direct, absolute form
// through a proxy.
func serializeRequest(cfg HTTPConfig, u, proxy *url.URL) []byte {
	var b strings.Builder
	target := u.RequestURI()
	if proxy != nil {
		target = u.Scheme + "://" + u.Host + u.RequestURI()
	}
	host := u.Host
	if h := cfg.Header.Get("Host"); h != "" {
		host = h
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", cfg.Method, target, host)
	for k, vs := range cfg.Header {
		if strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if cfg.Header.Get("User-Agent") == "" {
		b.WriteString("User-Agent: proxylab-load\r\n")
	}
	if proxy != nil && proxy.User != nil {
		pass, _ := proxy.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(proxy.User.Username() + ":" + pass))
		fmt.Fprintf(&b, "Proxy-Authorization: Basic %s\r\n", cred)
	}
	if cfg.NoKeepAlive {
		b.WriteString("Connection: close\r\n")
	}
	if len(cfg.Body) > 0 || cfg.Method == http.MethodPost || cfg.Method == http.MethodPut || cfg.Method == http.MethodPatch {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(cfg.Body))
	}
	b.WriteString("\r\n")
	b.Write(cfg.Body)
	return []byte(b.String())
}

// Do sends the request for slot s and reports its outcome; it never panics
// and never returns a Go error: failures are classified into Result.Err.
func (d *HTTPDoer) Do(ctx context.Context, s Slot) Result {
	if d.std != nil {
		return d.doStd(ctx, s)
	}
	return d.doFast(ctx, s)
}

// Close closes every idle connection; it is idempotent. Requests in flight
// keep their connection until they finish, then close it.
func (d *HTTPDoer) Close() error {
	d.once.Do(func() {
		d.closed.Store(true)
		d.mu.Lock()
		sp := d.slots.Load()
		d.mu.Unlock()
		if sp != nil {
			for _, sl := range *sp {
				sl.close()
			}
		}
		if d.std != nil {
			d.std.CloseIdleConnections()
		}
	})
	return nil
}

// errClosed is returned for requests on a closed doer.
var errClosed = errors.New("http doer closed")

var _ Doer = (*HTTPDoer)(nil)
