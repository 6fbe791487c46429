package reverse_test

import (
	"net/http"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/proxylab/proxylab/proxy/reverse"
)

var _ = Describe("Breaker max_pending", func() {
	var s1 *upstream

	BeforeEach(func() {
		s1 = startUpstream("server1")
	})

	It("should queue a request behind a busy connection and refuse the one over max_pending, never sending it", func(ctx SpecContext) {
		cfg := onePool(s1.url)
		cfg.Pools[0].Breaker = reverse.BreakerConfig{MaxConnections: 1, MaxPending: 1}
		cfg.RetryHeader = true
		log := gbytes.NewBuffer()
		rp := startProxy(cfg, reverse.WithAccessLog(log))

		slow := make(chan int, 1)
		go func() {
			defer GinkgoRecover()
			code, _, _ := rp.get("/?delay=500ms")
			slow <- code
		}()
		Eventually(s1.receipts.Load).Should(BeEquivalentTo(1), "the first request holds the only connection")

		queued := make(chan int, 1)
		go func() {
			defer GinkgoRecover()
			code, _, _ := rp.get("/")
			queued <- code
		}()
		Eventually(func() int64 { return rp.Pools()[0].Servers[0].InFlight }).Should(BeEquivalentTo(2),
			"the second request waits for the connection")
		Consistently(s1.receipts.Load, 100*time.Millisecond).Should(BeEquivalentTo(1), "and is not sent while it waits")

		code, body, h := rp.get("/")
		Expect(code).To(Equal(503))
		Expect(h.Get("X-Proxylab-Error")).To(Equal("breaker_open"))
		Expect(body).To(ContainSubstring("breaker_open"))
		Expect(h.Get("X-Proxylab-Retries")).To(BeEmpty(), "it was never an attempt")
		Eventually(log).Should(gbytes.Say(`max_pending 1`), "the access log says which limit refused it")

		Eventually(slow).WithContext(ctx).Should(Receive(Equal(200)))
		Eventually(queued).WithContext(ctx).Should(Receive(Equal(200)), "the queued request gets the freed connection")
		Expect(s1.receipts.Load()).To(BeEquivalentTo(2), "the refused request never reached the upstream")
	}, SpecTimeout(10*time.Second))

	It("should hand freed connections to queued requests in turn", func(ctx SpecContext) {
		// The upstream counts requests it serves at once: with one
		// connection allowed, never more than one.
		var inFlight, peak atomic.Int64
		s1 = startUpstream("server2", func(srv *http.Server) {
			h := srv.Handler
			srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				h.ServeHTTP(w, r)
			})
		})
		cfg := onePool(s1.url)
		cfg.Pools[0].Breaker = reverse.BreakerConfig{MaxConnections: 1, MaxPending: 8}
		rp := startProxy(cfg)
		codes := make(chan int, 4)
		for range 4 {
			go func() {
				defer GinkgoRecover()
				code, _, _ := rp.get("/?delay=50ms")
				codes <- code
			}()
		}
		for range 4 {
			Eventually(codes).WithContext(ctx).Should(Receive(Equal(200)))
		}
		Expect(s1.receipts.Load()).To(BeEquivalentTo(4))
		Expect(peak.Load()).To(BeEquivalentTo(1), "the queued requests went one after another")
		Eventually(func() int64 { return rp.Pools()[0].Servers[0].InFlight }).Should(BeZero())
	}, SpecTimeout(10*time.Second))
})
