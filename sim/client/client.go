package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// IDHeader is the header that carries a simulated request's unique id.
const IDHeader = "X-Proxylab-Id"

// ServerHeader is the header every simulated server puts on its responses.
const ServerHeader = "X-Sim-Server"

// DefaultTimeout bounds a request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config describes one simulated client.
type Config struct {
	// Name is the client's name, such as "cli1"; it prefixes request ids.
	Name string
	// SourceIP is the local address requests leave from, such as "127.0.2.1".
	// Empty lets the kernel choose.
	SourceIP string
	// Proxy is a forward proxy to send every request through, with optional
	// credentials in its userinfo. Nil sends requests directly.
	Proxy *url.URL
	// DisableKeepAlive opens a new connection for every request.
	DisableKeepAlive bool
	// Timeout bounds one request from send to the last body byte; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxConns caps the connections per host; zero means no cap.
	MaxConns int
	// H2C speaks HTTP/2 over cleartext (prior knowledge) instead of HTTP/1.1.
	H2C bool
	// InsecureTLS skips verification of https targets (simulated servers use throwaway certificates).
	InsecureTLS bool
	// Header is added to every request.
	Header http.Header
	// Cookies keeps the cookies servers set and sends them back, as a browser
	// does (sticky sessions need it). False sends none.
	Cookies bool
}

// Request is one request a client sends.
type Request struct {
	Method string // empty means GET
	URL    string
	Header http.Header
	Body   []byte
	// ID overrides the generated id when set.
	ID string
}

// Client is a simulated client. It is safe for concurrent use.
type Client struct {
	cfg  Config
	rt   http.RoundTripper
	hc   *http.Client
	seq  atomic.Uint64
	done atomic.Bool
}

// New builds a client from cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("client: a name is required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("client %s: timeout %s is negative; want a positive duration like 5s", cfg.Name, cfg.Timeout)
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if cfg.SourceIP != "" {
		ip := net.ParseIP(cfg.SourceIP)
		if ip == nil {
			return nil, fmt.Errorf("client %s: source address %q is not an IP; want one like 127.0.2.1", cfg.Name, cfg.SourceIP)
		}
		dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	c := &Client{cfg: cfg}
	if cfg.H2C {
		c.rt = &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
		}
	} else {
		tr := &http.Transport{
			DialContext:           dialer.DialContext,
			DisableKeepAlives:     cfg.DisableKeepAlive,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   256,
			MaxConnsPerHost:       cfg.MaxConns,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
			TLSClientConfig:       &tls.Config{InsecureSkipVerify: cfg.InsecureTLS}, //nolint:gosec // simulated servers only
			ForceAttemptHTTP2:     false,
		}
		if cfg.Proxy != nil {
			tr.Proxy = http.ProxyURL(cfg.Proxy)
		}
		c.rt = tr
	}
	var jar http.CookieJar
	if cfg.Cookies {
		jar, _ = cookiejar.New(nil)
	}
	c.hc = &http.Client{
		Jar:       jar,
		Transport: c.rt,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c, nil
}

// Name returns the client's name.
func (c *Client) Name() string { return c.cfg.Name }

// Config returns the configuration the client was built with.
func (c *Client) Config() Config { return c.cfg }

// NextID returns a fresh request id such as "cli1-42".
func (c *Client) NextID() string {
	return c.cfg.Name + "-" + strconv.FormatUint(c.seq.Add(1), 10)
}

// Do sends one request and reports what happened. It never returns an error:
// failures are recorded in the outcome.
func (c *Client) Do(ctx context.Context, req Request) Outcome {
	id := req.ID
	if id == "" {
		id = c.NextID()
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	out := Outcome{ID: id, Client: c.cfg.Name, Method: method, URL: req.URL, Start: time.Now()}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, req.URL, body)
	if err != nil {
		out.ErrKind, out.Err = ErrOther, err.Error()
		return out
	}
	for k, vs := range c.cfg.Header {
		hreq.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			if k == "Host" || http.CanonicalHeaderKey(k) == "Host" {
				hreq.Host = v
				continue
			}
			hreq.Header.Add(k, v)
		}
	}
	hreq.Header.Set(IDHeader, id)
	resp, err := c.hc.Do(hreq)
	if err != nil {
		out.Latency = time.Since(out.Start)
		out.ErrKind, out.Err = Classify(err), err.Error()
		return out
	}
	out.Status = resp.StatusCode
	out.Proto = resp.Proto
	out.Server = resp.Header.Get(ServerHeader)
	out.Header = resp.Header
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out.Bytes = n
	out.Latency = time.Since(out.Start)
	if err != nil {
		out.ErrKind, out.Err = Classify(err), err.Error()
	}
	return out
}

// CloseIdle closes idle connections; it does not affect requests in flight.
func (c *Client) CloseIdle() {
	if ci, ok := c.rt.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Close releases the client's connections. It is idempotent.
func (c *Client) Close() {
	if c.done.Swap(true) {
		return
	}
	c.CloseIdle()
}
