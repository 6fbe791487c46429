package proxy_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/proxylab/proxylab/proxy"
)

// BenchmarkServerFraming measures a keep-alive GET and a chunked POST through
// proxy.Server with and without the framing check.
func BenchmarkServerFraming(b *testing.B) {
	for _, lenient := range []bool{true, false} {
		name := "checked"
		if lenient {
			name = "lenient"
		}
		b.Run(name, func(b *testing.B) {
			srv := proxy.NewServer(echoBody, proxy.ServerConfig{LenientFraming: lenient})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(ln)
			defer srv.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			url := "http://" + ln.Addr().String() + "/b"
			body := strings.Repeat("x", 4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var resp *http.Response
				if i%2 == 0 {
					resp, err = c.Get(url)
				} else {
					resp, err = c.Post(url, "text/plain", io.NopCloser(strings.NewReader(body)))
				}
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
