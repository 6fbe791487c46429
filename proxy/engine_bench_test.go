package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/proxylab/proxylab/proxy"
)

// BenchmarkServerKeepAlive is one keep-alive client asking for a small
// response again and again, served by each engine: the per-request cost of
// the server loop alone (parse, handler call, response, park).
func BenchmarkServerKeepAlive(b *testing.B) {
	for _, engine := range []string{proxy.EngineProxylab, proxy.EngineNetHTTP} {
		b.Run(engine, func(b *testing.B) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "ok")
			})
			srv := proxy.NewServer(h, proxy.ServerConfig{Engine: engine})
			ln, err := proxy.Listen("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			defer func() {
				srv.Close()
				<-done
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
