package balance_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/proxylab/proxylab/proxy/balance"
)

// BenchmarkPick measures one Pick per policy over 3 and 100 idle upstreams.
// Goal: 0 allocs/op for round_robin, least_conn and p2c.
func BenchmarkPick(b *testing.B) {
	for _, name := range balance.Policies() {
		for _, n := range []int{3, 100} {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				p, err := balance.New(balance.Config{Policy: name, Key: "header:X-Key", Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				us := make([]*balance.Upstream, n)
				for i := range us {
					us[i] = balance.NewUpstream(fmt.Sprintf("server%d", i+1), &url.URL{Scheme: "http", Host: "127.0.1.1:80"}, 1+i%3)
				}
				r := httptest.NewRequest(http.MethodGet, "http://proxy.test/", nil)
				r.RemoteAddr = "127.0.2.1:5555"
				r.Header.Set("X-Key", "user-42")
				if sc, ok := p.(*balance.StickyCookie); ok { // pinned to the last server: the longest scan
					r.AddCookie(&http.Cookie{Name: balance.DefaultCookie, Value: sc.CookieValue(us[n-1].Name)})
				}
				b.ReportAllocs()
				for b.Loop() {
					if p.Pick(r, us) == nil {
						b.Fatal("no pick")
					}
				}
			})
		}
	}
}

// BenchmarkPickParallel measures Pick under contention for the policies
// that keep shared state.
func BenchmarkPickParallel(b *testing.B) {
	for _, name := range []string{"round_robin", "weighted_round_robin", "least_conn", "p2c"} {
		b.Run(name, func(b *testing.B) {
			p, err := balance.New(balance.Config{Policy: name, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			us := make([]*balance.Upstream, 10)
			for i := range us {
				us[i] = balance.NewUpstream(fmt.Sprintf("server%d", i+1), &url.URL{Scheme: "http", Host: "127.0.1.1:80"}, 1)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					u := p.Pick(nil, us)
					u.Acquire()
					u.Release()
				}
			})
		})
	}
}
