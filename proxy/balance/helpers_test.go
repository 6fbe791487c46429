package balance_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
)

// pool returns n upstreams named server1..serverN with the given weights
// (missing weights are 1). Their URLs are never dialed.
func pool(n int, weights ...int) []*balance.Upstream {
	us := make([]*balance.Upstream, n)
	for i := range us {
		w := 1
		if i < len(weights) {
			w = weights[i]
		}
		u := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.1.%d:80", i+1)}
		us[i] = balance.NewUpstream(fmt.Sprintf("server%d", i+1), u, w)
	}
	return us
}

// mustNew builds a policy or fails the spec.
func mustNew(cfg balance.Config) balance.Balancer {
	GinkgoHelper()
	b, err := balance.New(cfg)
	Expect(err).NotTo(HaveOccurred())
	return b
}

// request returns a request from client IP ip carrying X-Key: key.
func request(ip, key string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://proxy.test/item/"+key, nil)
	r.RemoteAddr = ip + ":5555"
	if key != "" {
		r.Header.Set("X-Key", key)
	}
	return r
}

// tally picks n times with fresh requests (keys k0..kn-1) and counts per name.
func tally(b balance.Balancer, candidates []*balance.Upstream, n int) map[string]int {
	counts := map[string]int{}
	for i := range n {
		r := request(fmt.Sprintf("127.0.2.%d", i%250+1), fmt.Sprintf("k%d", i))
		u := b.Pick(r, candidates)
		Expect(u).NotTo(BeNil())
		counts[u.Name]++
	}
	return counts
}
