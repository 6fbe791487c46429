package bench

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/reverse"
)

// benchWorkers is the concurrency of BenchmarkBuiltin, like a small
// closed loop.
const benchWorkers = 8

// BenchmarkBuiltin sends keep-alive GETs with loadgen's HTTP client to the
// sim backend directly, through the reverse proxy and through the forward
// proxy (absolute form), all in this process. allocs/op of a proxy minus
// those of direct are what the proxy allocates per request; run it with
// -cpuprofile and focus on the proxy's frames to see where its CPU goes.
// (`proxylab bench` measures the proxies as separate processes, which is
// the fair way to compare CPU with nginx.)
func BenchmarkBuiltin(b *testing.B) {
	srv := rawBackend(b)

	b.Run("direct", func(b *testing.B) {
		benchLoad(b, loadgen.HTTPConfig{URL: srv.URL() + "/", ServerHeader: "-"})
	})
	b.Run("reverse", func(b *testing.B) {
		cfg := reverse.Config{
			Routes: []reverse.RouteConfig{{Path: "/", Pool: "web"}},
			Pools:  []reverse.PoolConfig{{Name: "web", Servers: []reverse.ServerConfig{{Name: "server1", URL: srv.URL()}}}},
		}
		p, err := reverse.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close() })
		addr := benchServe(b, proxy.NewServer(p, cfg.ServerConfig()), nil)
		benchLoad(b, loadgen.HTTPConfig{URL: "http://" + addr + "/", ServerHeader: "-"})
	})
	b.Run("forward", func(b *testing.B) {
		p, err := forward.New(forward.Config{Open: true, AllowNets: []string{"127.0.0.0/8"}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close() })
		addr := benchServe(b, proxy.NewServer(p, proxy.ServerConfig{}), p.Listener)
		benchLoad(b, loadgen.HTTPConfig{URL: srv.URL() + "/", Proxy: "http://" + addr, ServerHeader: "-"})
	})
}

// fixedResponse is what rawBackend answers, like nginx `return 200`.
const fixedResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nhello from backend\n"

// rawServer is a minimal keep-alive HTTP/1.1 backend for bodiless requests:
// it reads a head, answers fixedResponse, and costs far less than any
// net/http server, so every net/http server frame in a profile is the proxy's.
type rawServer struct{ ln net.Listener }

func (s rawServer) URL() string { return "http://" + s.ln.Addr().String() }

func rawBackend(b *testing.B) rawServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					for { // the head ends with an empty line
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := io.WriteString(c, fixedResponse); err != nil {
						return
					}
				}
			})
		}
	})
	b.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return rawServer{ln: ln}
}

// benchServe serves s on a loopback port until the benchmark ends.
func benchServe(b *testing.B, s *proxy.Server, wrap func(net.Listener) net.Listener) string {
	ln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	done := make(chan struct{})
	go func() { _ = s.Serve(ln); close(done) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-done
	})
	return addr
}

// benchLoad sends b.N requests from benchWorkers workers, each on its own
// keep-alive connection.
func benchLoad(b *testing.B, cfg loadgen.HTTPConfig) {
	d, err := loadgen.NewHTTPDoer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	for w := range benchWorkers { // open the connections before timing
		if res := d.Do(ctx, loadgen.Slot{Worker: w}); !res.Success() {
			b.Fatalf("warm-up request: %+v", res)
		}
	}
	var next, failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range benchWorkers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if res := d.Do(ctx, loadgen.Slot{Worker: w}); !res.Success() {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
}
