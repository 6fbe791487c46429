package reverse_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/reverse"
)

// upstream is a plain http.Server on 127.0.0.1:0 that answers with its name
// and records what it received. Query parameters steer it:
// status=N answers N, delay=D sleeps D first, abort=1 closes the connection
// after reading the request (the upstream died after the request was sent).
type upstream struct {
	name      string
	url       string
	addr      string
	srv       *http.Server
	receipts  atomic.Int64
	fail      atomic.Bool // answer 500 to everything but /healthz
	unhealthy atomic.Bool // answer 503 to /healthz

	mu   sync.Mutex
	last *http.Request
	body []byte
}

func startUpstream(name string, opts ...func(*http.Server)) *upstream {
	GinkgoHelper()
	u := &upstream{name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	u.addr = ln.Addr().String()
	u.url = "http://" + u.addr
	u.srv = &http.Server{Handler: http.HandlerFunc(u.serve), ReadHeaderTimeout: 5 * time.Second}
	for _, o := range opts {
		o(u.srv)
	}
	go u.srv.Serve(ln)
	DeferCleanup(u.stop)
	return u
}

func (u *upstream) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if u.srv.Shutdown(ctx) != nil {
		u.srv.Close()
	}
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		if u.unhealthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return
	}
	if u.fail.Load() {
		u.receipts.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	u.receipts.Add(1)
	u.mu.Lock()
	u.last, u.body = r, body
	u.mu.Unlock()
	q := r.URL.Query()
	if d, err := time.ParseDuration(q.Get("delay")); err == nil {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if q.Get("truncate") != "" {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err == nil {
			brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("t", 100))
			brw.Flush()
			c.Close()
		}
		return
	}
	if q.Get("abort") != "" {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
		return
	}
	w.Header().Set("X-Upstream", u.name)
	w.Header().Set("X-Received-Bytes", strconv.Itoa(len(body)))
	if s, err := strconv.Atoi(q.Get("status")); err == nil {
		w.WriteHeader(s)
	}
	if n, err := strconv.Atoi(q.Get("size")); err == nil {
		w.Write(bytes.Repeat([]byte("x"), n))
		return
	}
	fmt.Fprint(w, u.name)
}

func (u *upstream) lastRequest() (*http.Request, []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.body
}

// deadURL returns the URL of a port that was just closed: dials are refused.
func deadURL() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// runningProxy is a reverse.Proxy served by proxy.Server on 127.0.0.1:0.
type runningProxy struct {
	*reverse.Proxy
	srv    *proxy.Server
	url    string
	addr   string
	client *http.Client
}

func startProxy(cfg reverse.Config, opts ...reverse.Option) *runningProxy {
	GinkgoHelper()
	if os.Getenv("PROXYLAB_STD_TRANSPORT") != "" {
		// Run the suite over http.Transport only, to check that path too.
		opts = append(opts, reverse.WithStdTransport())
	}
	p, err := reverse.New(cfg, opts...)
	Expect(err).NotTo(HaveOccurred())
	srv := proxy.NewServer(p, cfg.ServerConfig())
	ln, err := proxy.Listen("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil}
	rp := &runningProxy{Proxy: p, srv: srv, url: "http://" + ln.Addr().String(), addr: ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	DeferCleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		Eventually(done).Should(Receive(BeNil()))
		p.Close()
	})
	return rp
}

// get sends a GET through the proxy and returns status, body and the
// response headers.
func (rp *runningProxy) get(path string, hdr ...string) (int, string, http.Header) {
	GinkgoHelper()
	return rp.do("GET", path, nil, hdr...)
}

func (rp *runningProxy) do(method, path string, body io.Reader, hdr ...string) (int, string, http.Header) {
	GinkgoHelper()
	req, err := http.NewRequest(method, rp.url+path, body)
	Expect(err).NotTo(HaveOccurred())
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := rp.client.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(b), resp.Header
}

// onePool is a config with one catch-all route to pool "web".
func onePool(servers ...string) reverse.Config {
	pc := reverse.PoolConfig{Name: "web"}
	for i, s := range servers {
		pc.Servers = append(pc.Servers, reverse.ServerConfig{Name: fmt.Sprintf("server%d", i+1), URL: s})
	}
	return reverse.Config{
		Routes: []reverse.RouteConfig{{Host: "", Path: "/", Pool: "web"}},
		Pools:  []reverse.PoolConfig{pc},
	}
}
