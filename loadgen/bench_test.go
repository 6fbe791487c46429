package loadgen_test

import (
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxylab/proxylab/loadgen"
)

// rawResponse is what rawBackend answers: a 19-byte body.
const rawResponse = "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nhello world 19 byte"

// rawBackend is a minimal keep-alive HTTP/1.1 server on loopback for
// benchmarks: it answers every read with response. It stops with the
// benchmark.
func rawBackend(b *testing.B, response string) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	b.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 4096)
				resp := []byte(response)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

// BenchmarkHTTPDoer measures one keep-alive request and response through
// HTTPDoer against a minimal raw server on loopback (both sides' cost). The
// fast path must stay at 0 allocs/op, with a server header to capture too.
func BenchmarkHTTPDoer(b *testing.B) {
	for _, bc := range []struct{ name, response string }{
		{"plain", rawResponse},
		{"server-header", "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nX-Sim-Server: server1\r\n" +
			"Connection: keep-alive\r\nContent-Length: 19\r\n\r\nhello world 19 byte"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: rawBackend(b, bc.response)})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if r := d.Do(ctx, loadgen.Slot{}); r.Status != 200 {
					b.Fatal(r.Err)
				}
			}
		})
	}
}

// BenchmarkHTTPDoerParallel is BenchmarkHTTPDoer with 64 workers, each on
// its own connection, like `proxylab load --connections 64` (run it with
// GOMAXPROCS=1 to compare with wrk -t1). 0 allocs/op on the fast path.
func BenchmarkHTTPDoerParallel(b *testing.B) {
	d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: rawBackend(b, rawResponse), IDHeader: "X-Proxylab-Id"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	var workers atomic.Int64
	b.SetParallelism(max(64/runtime.GOMAXPROCS(0), 1))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := loadgen.Slot{Worker: int(workers.Add(1) - 1)}
		for pb.Next() {
			s.Seq++
			if r := d.Do(ctx, s); r.Status != 200 {
				b.Error(r.Err)
				return
			}
		}
	})
}

// BenchmarkRunHTTP runs the whole engine closed loop with 64 connections
// through HTTPDoer against the raw server for LOADGEN_BENCH_SECONDS
// (default 1) and reports the allocations and CPU time (of the benchmark
// process, so the server's too) per request.
func BenchmarkRunHTTP(b *testing.B) {
	secs := 1
	if v, err := strconv.Atoi(os.Getenv("LOADGEN_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: rawBackend(b, rawResponse)})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := processCPU()
	b.ResetTimer()
	rep, err := loadgen.Run(context.Background(), loadgen.Plan{Phases: []loadgen.Phase{
		{Duration: time.Duration(secs) * time.Second, Connections: 64},
	}}, d)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu = processCPU() - cpu
	runtime.ReadMemStats(&after)
	n := float64(rep.Overall.Requests)
	if n == 0 || rep.Overall.Failures > 0 {
		b.Fatalf("%v requests, %v failures: %v", n, rep.Overall.Failures, rep.Overall.Errors)
	}
	b.ReportMetric(n/float64(secs), "req/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/req")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/req")
}

// BenchmarkRunClosed measures the engine's own cost per request (pacing,
// timing, recording) with a doer that does nothing.
func BenchmarkRunClosed(b *testing.B) {
	d := loadgen.DoerFunc(func(context.Context, loadgen.Slot) loadgen.Result {
		return loadgen.Result{Status: 200, Tags: loadgen.Tags{Server: "server1"}}
	})
	b.ReportAllocs()
	cpu := processCPU()
	b.ResetTimer()
	rep, err := loadgen.Run(context.Background(), loadgen.Plan{Phases: []loadgen.Phase{
		{Duration: time.Second, Connections: runtime.GOMAXPROCS(0)},
	}}, d)
	if err != nil {
		b.Fatal(err)
	}
	cpu = processCPU() - cpu
	b.ReportMetric(float64(rep.Overall.Requests), "req/s")
	b.ReportMetric(1e9/float64(rep.Overall.Requests)*float64(runtime.GOMAXPROCS(0)), "ns/req")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(rep.Overall.Requests), "cpu-ns/req")
}

// BenchmarkHeapLongRun runs open loop at 10,000/s (LOADGEN_BENCH_SECONDS,
// default 10) against an instant doer with three servers and reports the heap
// in use after a GC at 1/4 of the run and at its end: memory must not grow
// with run length (only the per-second series does, a few hundred bytes a
// second).
func BenchmarkHeapLongRun(b *testing.B) {
	secs := 10
	if v, err := strconv.Atoi(os.Getenv("LOADGEN_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	servers := []string{"server1", "server2", "server3"}
	d := loadgen.DoerFunc(func(_ context.Context, s loadgen.Slot) loadgen.Result {
		return loadgen.Result{Status: 200, Raw: time.Duration(50+s.Seq%5000) * time.Microsecond,
			Tags: loadgen.Tags{Client: "cli1", Server: servers[s.Seq%3]}}
	})
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse) / (1 << 20)
	}
	var quarter, end float64
	var updates int
	progress := loadgen.ProgressFuncs{OnUpdate: func(s loadgen.Snapshot) {
		updates++
		if updates == secs/4 {
			quarter = heap()
		}
	}}
	b.ResetTimer()
	rep, err := loadgen.Run(context.Background(), loadgen.Plan{Phases: []loadgen.Phase{
		{Duration: time.Duration(secs) * time.Second, Pacer: loadgen.Constant(10000)},
	}}, d, loadgen.WithProgress(progress))
	if err != nil {
		b.Fatal(err)
	}
	end = heap()
	b.ReportMetric(quarter, "MiB-heap-at-1/4")
	b.ReportMetric(end, "MiB-heap-at-end")
	b.ReportMetric(rep.Overall.Rate, "req/s")
	b.ReportMetric(float64(rep.Overall.Missed()), "missed")
}
