package socket_test

import (
	"io"
	"net"
	"testing"

	"github.com/proxylab/proxylab/proxy/socket"
)

// BenchmarkPingPong sends 64 bytes and waits for 64 back over loopback TCP,
// through the connection (net.Conn) and through a Stream, both ends in this
// process: the cost of the calls themselves, which should be the same.
// What the Stream saves shows only across processes, when the one P goes
// idle between requests (sysmon's hand-offs and wake-ups; docs/bench.md,
// "Raw socket calls"):
//
//	go test -run '^$' -bench PingPong -cpu 1 ./proxy/socket
func BenchmarkPingPong(b *testing.B) {
	for _, mode := range []string{"net.Conn", "Stream"} {
		b.Run(mode, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() { // echo server, through the same kind of I/O
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				var rw io.ReadWriter = c
				if mode == "Stream" {
					rw = socket.New(c)
				}
				buf := make([]byte, 64)
				for {
					if _, err := io.ReadFull(rw, buf); err != nil {
						return
					}
					if _, err := rw.Write(buf); err != nil {
						return
					}
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var rw io.ReadWriter = c
			if mode == "Stream" {
				rw = socket.New(c)
			}
			buf := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := rw.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(rw, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
