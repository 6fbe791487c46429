package reverse_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/reverse"
)

// benchUpstream serves a 19-byte body on loopback, like the nginx `return 200`
// backend of the performance anchors.
func benchUpstream(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("hello from backend\n")
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func benchProxy(b *testing.B, upstream string) (*reverse.Proxy, string) {
	b.Helper()
	cfg := reverse.Config{
		Routes: []reverse.RouteConfig{{Path: "/", Pool: "web"}},
		Pools:  []reverse.PoolConfig{{Name: "web", Servers: []reverse.ServerConfig{{Name: "server1", URL: upstream}}}},
	}
	p, err := reverse.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	srv := proxy.NewServer(p, cfg.ServerConfig())
	ln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		p.Close()
	})
	return p, "http://" + ln.Addr().String()
}

func benchGet(b *testing.B, url string) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkDirect is the baseline: client → upstream over loopback.
func BenchmarkDirect(b *testing.B) {
	benchGet(b, benchUpstream(b)+"/")
}

// BenchmarkProxy is the whole request path: client → proxy.Server →
// reverse.Proxy → upstream, all over loopback in this process; ns/op and
// allocs/op include the client and the upstream (compare with Direct).
func BenchmarkProxy(b *testing.B) {
	_, url := benchProxy(b, benchUpstream(b))
	benchGet(b, url+"/")
}

// BenchmarkServeHTTP calls the handler directly, without the client-side
// connection: what the proxy itself costs, plus the upstream round trip.
func BenchmarkServeHTTP(b *testing.B) {
	p, _ := benchProxy(b, benchUpstream(b))
	req, _ := http.NewRequest("GET", "http://bench.local/", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.RequestURI = "/"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		p.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	return len(b), nil
}
func (d *discardWriter) WriteHeader(c int) { d.code = c }
