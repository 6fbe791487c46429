package netfault_test

import (
	"io"
	"net"
	"testing"

	"github.com/proxylab/proxylab/sim/netfault"
)

// benchUpstream accepts connections and discards what they send.
func benchUpstream(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.1.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	b.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// benchThroughput pushes b.N chunks of 64 KiB through a link with toxics.
func benchThroughput(b *testing.B, toxics ...netfault.Toxic) {
	l, err := netfault.NewLink(netfault.LinkConfig{Listen: "127.0.4.1:0", Upstream: benchUpstream(b), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	for _, t := range toxics {
		if err := l.AddToxic(t); err != nil {
			b.Fatal(err)
		}
	}
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLinkNoToxic measures the spliced path.
func BenchmarkLinkNoToxic(b *testing.B) { benchThroughput(b) }

// BenchmarkLinkZeroLatencyToxic measures the toxic path with a toxic that
// does nothing, i.e. the cost of leaving splice.
func BenchmarkLinkZeroLatencyToxic(b *testing.B) {
	benchThroughput(b, netfault.Toxic{Type: netfault.Latency, Direction: netfault.Upstream})
}

// BenchmarkDirect is the baseline: the same writes with no link between.
func BenchmarkDirect(b *testing.B) {
	c, err := net.Dial("tcp", benchUpstream(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
