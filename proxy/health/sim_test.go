package health_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
)

// simServer is a health endpoint whose answers the test flips.
type simServer struct {
	srv      *httptest.Server
	status   atomic.Int64 // answer for probes
	failNext atomic.Int64 // answer 503 to this many probes first
	slow     atomic.Bool  // hold probes until the client gives up
	probes   atomic.Int64 // probes served
	streak   atomic.Int64 // probes served since the last setStatus

	mu       sync.Mutex
	lastPath string
	lastHost string
}

// newSimServer starts a server on 127.0.0.1:0 that answers 200, stopped by DeferCleanup.
func newSimServer() *simServer {
	GinkgoHelper()
	s := &simServer{}
	s.status.Store(http.StatusOK)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	DeferCleanup(s.srv.Close)
	return s
}

func (s *simServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.lastPath, s.lastHost = r.URL.RequestURI(), r.Host
	s.mu.Unlock()
	if s.slow.Load() {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	s.probes.Add(1)
	s.streak.Add(1)
	if s.failNext.Load() > 0 && s.failNext.Add(-1) >= 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(int(s.status.Load()))
}

// setStatus changes the answer and restarts the streak count.
func (s *simServer) setStatus(code int) {
	s.streak.Store(0)
	s.status.Store(int64(code))
}

func (s *simServer) last() (path, host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastPath, s.lastHost
}

// upstream returns a pool member pointing at s.
func (s *simServer) upstream(name string) *balance.Upstream {
	GinkgoHelper()
	u, err := url.Parse(s.srv.URL)
	Expect(err).NotTo(HaveOccurred())
	return balance.NewUpstream(name, u, 1)
}

// targets is a pool the test changes while the checker runs.
type targets struct {
	mu sync.Mutex
	us []*balance.Upstream
}

func (t *targets) get() []*balance.Upstream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*balance.Upstream(nil), t.us...)
}

func (t *targets) set(us ...*balance.Upstream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.us = us
}
