package forward_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
)

// A forward proxy with a password, allowed to reach local servers, served
// by the shared proxy.Server; a Go client uses it explicitly.
func Example() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello via %s", r.Header.Get("Via"))
	}))
	defer origin.Close()

	p, err := forward.New(forward.Config{
		Auth:      []forward.Credential{{User: "alice", Pass: "s3cret"}},
		AllowNets: []string{"127.0.0.0/8"}, // the SSRF guard refuses loopback otherwise
		Via:       "edge1",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := proxy.NewServer(p, p.ServerConfig())
	go srv.Serve(p.Listener(ln))
	defer srv.Shutdown(context.Background())

	proxyURL := &url.URL{Scheme: "http", Host: ln.Addr().String(), User: url.UserPassword("alice", "s3cret")}
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(origin.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello via 1.1 edge1
}
