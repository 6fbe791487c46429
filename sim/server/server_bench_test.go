package server_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/proxylab/proxylab/sim/server"
)

// benchServer starts a server for a benchmark.
func benchServer(b *testing.B, behaviour server.Behaviour) *server.Server {
	b.Helper()
	s, err := server.New(server.Config{Name: "bench", Addr: "127.0.1.1:0", Behaviour: behaviour})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func benchGet(b *testing.B, url string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkServerPlain is the cost of one knob-free request (client included).
func BenchmarkServerPlain(b *testing.B) {
	benchGet(b, benchServer(b, server.Behaviour{}).URL()+"/")
}

// BenchmarkServerMix draws status and size from mixes on every request.
func BenchmarkServerMix(b *testing.B) {
	s := benchServer(b, server.Behaviour{
		Status: server.MustParseStatusMix("200:99,503:1"),
		Size:   server.MustParseSizeMix("1KiB:90,16KiB:10"),
	})
	benchGet(b, s.URL()+"/")
}

// BenchmarkServerEcho is the echo endpoint with its raw header parsing.
func BenchmarkServerEcho(b *testing.B) {
	benchGet(b, benchServer(b, server.Behaviour{}).URL()+"/echo")
}
