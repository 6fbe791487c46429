package forward_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
)

// loopback is what every test opens to the SSRF guard: the origins live there.
var loopback = []string{"127.0.0.0/8"}

// origin is a plain HTTP server on 127.0.0.1:0 that echoes what it saw and
// counts the connections it accepted.
type origin struct {
	srv      *httptest.Server
	accepted atomic.Int64
	requests atomic.Int64
	complete atomic.Int64 // requests whose whole body arrived
	last     atomic.Pointer[http.Request]
}

func (o *origin) addr() string { return o.srv.Listener.Addr().String() }

func (o *origin) port() uint16 {
	return netip.MustParseAddrPort(o.addr()).Port()
}

// startOrigin starts an echo origin: the body is "name method path", and the
// request's Via, Host, Proxy-Authorization and Connection-listed headers come
// back as X-Seen-* headers.
func startOrigin(name string) *origin {
	GinkgoHelper()
	o := &origin{}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		o.last.Store(r)
		body, err := io.ReadAll(r.Body)
		if err == nil {
			o.complete.Add(1)
		}
		h := w.Header()
		h.Set("X-Seen-Via", r.Header.Get("Via"))
		h.Set("X-Seen-Host", r.Host)
		h.Set("X-Seen-Proxy-Authorization", r.Header.Get("Proxy-Authorization"))
		h.Set("X-Seen-Proxy-Connection", r.Header.Get("Proxy-Connection"))
		h.Set("X-Seen-Foo", r.Header.Get("Foo"))
		h.Set("X-Seen-Max-Forwards", r.Header.Get("Max-Forwards"))
		h.Set("X-Seen-Body", string(body))
		fmt.Fprintf(w, "%s %s %s", name, r.Method, r.URL.Path)
	}))
	o.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			o.accepted.Add(1)
		}
	}
	o.srv.Start()
	DeferCleanup(o.srv.Close)
	return o
}

// running is a proxy served on 127.0.0.1:0 by the shared proxy.Server.
type running struct {
	p        *forward.Proxy
	addr     string
	accepted atomic.Int64 // client connections accepted by the listener
	log      *syncBuffer
}

func (r *running) url() *url.URL { return &url.URL{Scheme: "http", Host: r.addr} }

func (r *running) urlWith(user, pass string) *url.URL {
	u := r.url()
	u.User = url.UserPassword(user, pass)
	return u
}

// startProxy builds a proxy from cfg and serves it; cleanup shuts it down.
func startProxy(cfg forward.Config, opts ...forward.Option) *running {
	GinkgoHelper()
	r := &running{log: &syncBuffer{}}
	opts = append([]forward.Option{forward.WithDecisionLog(r.log)}, opts...)
	p, err := forward.New(cfg, opts...)
	Expect(err).NotTo(HaveOccurred())
	r.p = p
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	r.addr = ln.Addr().String()
	srv := proxy.NewServer(p, proxy.ServerConfig{ReadHeaderTimeout: 5 * time.Second})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(p.Listener(&countingListener{Listener: ln, n: &r.accepted})) }()
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = p.Close()
		Eventually(done).Should(Receive(BeNil()))
	})
	return r
}

// startSOCKS serves r's proxy as SOCKS5 on another loopback port.
func (r *running) startSOCKS() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- r.p.ServeSOCKS(ln) }()
	DeferCleanup(func() {
		_ = ln.Close()
		_ = r.p.Close()
		Eventually(done).Should(Receive(BeNil()))
	})
	return ln.Addr().String()
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// client returns an http.Client that uses proxyURL explicitly (the
// environment settings would skip loopback) and is cleaned up.
func client(proxyURL *url.URL) *http.Client {
	GinkgoHelper()
	tr := &http.Transport{
		Proxy:           http.ProxyURL(proxyURL),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		MaxConnsPerHost: 0,
	}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get performs a GET and returns the response with its body read.
func get(c *http.Client, u string) (*http.Response, string) {
	GinkgoHelper()
	resp, err := c.Get(u)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp, string(b)
}

// rawRequest writes raw bytes to the proxy and reads one response.
func rawRequest(addr, req string) (*http.Response, string) {
	GinkgoHelper()
	c, err := net.Dial("tcp", addr)
	Expect(err).NotTo(HaveOccurred())
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.WriteString(c, req)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.ReadResponse(bufioReader(c), nil)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// stubResolver answers from a table; each name may have a sequence of
// answers (the last one repeats), which models DNS rebinding.
type stubResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   map[string]int
}

func newStubResolver() *stubResolver {
	return &stubResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}
}

func (s *stubResolver) set(name string, answers ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range answers {
		var addrs []netip.Addr
		for _, x := range a {
			addrs = append(addrs, netip.MustParseAddr(x))
		}
		s.answers[name] = append(s.answers[name], addrs)
	}
}

func (s *stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.calls[host]
	s.calls[host]++
	seq := s.answers[host]
	if len(seq) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return seq[min(n, len(seq)-1)], nil
}

func (s *stubResolver) callsFor(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[host]
}

// stubDialer records every address it is asked to dial. Addresses in
// redirect are connected to their loopback stand-in; every other address
// fails, so a test never opens a connection to a non-loopback address.
type stubDialer struct {
	mu       sync.Mutex
	dialed   []string
	redirect map[string]string
}

func (d *stubDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, addr)
	to, ok := d.redirect[addr]
	d.mu.Unlock()
	if !ok {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().IsLoopback() {
			return nil, errors.New("stub dialer: refusing a non-loopback dial")
		}
		to = addr
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

func (d *stubDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// syncBuffer is a bytes.Buffer safe for the proxy's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// closeLater closes c at cleanup, ignoring the error of a second close.
func closeLater(c io.Closer) { DeferCleanup(func() { _ = c.Close() }) }

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
