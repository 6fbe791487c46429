package loadgen_test

import (
	"context"
	"net"
	"runtime"
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
