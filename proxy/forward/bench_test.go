package forward_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
)

// benchProxy serves a forward proxy on loopback for a benchmark.
func benchProxy(b *testing.B, cfg forward.Config) string {
	b.Helper()
	p, err := forward.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := proxy.NewServer(p, proxy.ServerConfig{})
	done := make(chan struct{})
	go func() { _ = srv.Serve(p.Listener(ln)); close(done) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = p.Close()
		<-done
	})
	return ln.Addr().String()
}

// BenchmarkAbsoluteFormGET measures one keep-alive GET through the proxy.
func BenchmarkAbsoluteFormGET(b *testing.B) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	defer origin.Close()
	addr := benchProxy(b, forward.Config{Open: true, AllowNets: []string{"127.0.0.0/8"}})
	tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	target := origin.URL + "/"
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Get(target)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkDirectGET is BenchmarkAbsoluteFormGET without the proxy: the
// baseline that shows what the proxy adds.
func BenchmarkDirectGET(b *testing.B) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	defer origin.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Get(origin.URL + "/")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// sink reads each connection to EOF, then answers one byte.
func sink(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, bulkChunk)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				_, _ = c.Write([]byte{1})
			}()
		}
	}()
	return ln.Addr().String()
}

const bulkChunk = 1 << 20

// pump writes n chunks to c, half-closes, and waits for the sink's answer.
func pump(b *testing.B, c net.Conn, r io.Reader, n int) {
	buf := make([]byte, bulkChunk)
	for range n {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		b.Fatal(err)
	}
}

func dialTunnel(b *testing.B, proxyAddr, target string) (net.Conn, io.Reader) {
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("CONNECT: %v %v", resp, err)
	}
	return c, br
}

// BenchmarkConnectBulk measures bulk upload throughput (MB/s) directly and
// through a CONNECT tunnel; compare the two for the tunnel's cost.
func BenchmarkConnectBulk(b *testing.B) {
	target := sink(b)
	port := uint16(0)
	fmt.Sscanf(target[len("127.0.0.1:"):], "%d", &port)
	addr := benchProxy(b, forward.Config{Open: true, AllowNets: []string{"127.0.0.0/8"}, ConnectPorts: []uint16{port}})

	b.Run("direct", func(b *testing.B) {
		c, err := net.Dial("tcp", target)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(bulkChunk)
		b.ResetTimer()
		pump(b, c, c, b.N)
	})
	b.Run("tunnel", func(b *testing.B) {
		c, r := dialTunnel(b, addr, target)
		defer c.Close()
		b.SetBytes(bulkChunk)
		b.ResetTimer()
		pump(b, c, r, b.N)
	})
}

// BenchmarkConnectRatio alternates direct and tunnelled transfers of the
// same size and reports both rates and their ratio (goal: ratio >= 0.9).
func BenchmarkConnectRatio(b *testing.B) {
	target := sink(b)
	port := uint16(0)
	fmt.Sscanf(target[len("127.0.0.1:"):], "%d", &port)
	addr := benchProxy(b, forward.Config{Open: true, AllowNets: []string{"127.0.0.0/8"}, ConnectPorts: []uint16{port}})
	const chunks = 256 // 256 MiB per transfer
	var direct, tunnel time.Duration
	for b.Loop() {
		c, err := net.Dial("tcp", target)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		pump(b, c, c, chunks)
		direct += time.Since(t0)
		c.Close()

		tc, r := dialTunnel(b, addr, target)
		t0 = time.Now()
		pump(b, tc, r, chunks)
		tunnel += time.Since(t0)
		tc.Close()
	}
	mb := float64(chunks*b.N) * bulkChunk / 1e6
	b.ReportMetric(mb/direct.Seconds(), "direct-MB/s")
	b.ReportMetric(mb/tunnel.Seconds(), "tunnel-MB/s")
	b.ReportMetric(direct.Seconds()/tunnel.Seconds(), "ratio")
}
