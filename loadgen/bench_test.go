package loadgen_test

import (
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/proxylab/proxylab/loadgen"
)

// BenchmarkHTTPDoer measures one keep-alive request and response through
// HTTPDoer against a minimal raw server on loopback (both sides' cost).
func BenchmarkHTTPDoer(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nhello world 19 byte")
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: "http://" + ln.Addr().String() + "/"})
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
}

// BenchmarkRunClosed measures the engine's own cost per request (pacing,
// timing, recording) with a doer that does nothing.
func BenchmarkRunClosed(b *testing.B) {
	d := loadgen.DoerFunc(func(context.Context, loadgen.Slot) loadgen.Result {
		return loadgen.Result{Status: 200, Tags: loadgen.Tags{Server: "server1"}}
	})
	b.ReportAllocs()
	b.ResetTimer()
	rep, err := loadgen.Run(context.Background(), loadgen.Plan{Phases: []loadgen.Phase{
		{Duration: time.Second, Connections: runtime.GOMAXPROCS(0)},
	}}, d)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rep.Overall.Requests), "req/s")
	b.ReportMetric(1e9/float64(rep.Overall.Requests)*float64(runtime.GOMAXPROCS(0)), "ns/req")
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
