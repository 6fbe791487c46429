package reverse_test

import (
	"net"
	"net/http"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Pooled upstream connections without a liveness probe", func() {
	// A GET on a connection pooled for less than a second skips the MSG_PEEK
	// probe: when the upstream has closed that connection meanwhile, the
	// request must be resent on a new one, never fail.
	It("should not fail a GET when the upstream closed the idle connection", func() {
		var closed atomic.Int64
		s1 := startUpstream("server1", func(srv *http.Server) {
			srv.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateClosed {
					closed.Add(1)
				}
			}
		})
		cfg := onePool(s1.url)
		cfg.Pools[0].Retries.Attempts = 1 // no pool retry: the resend must come from the client itself
		rp := startProxy(cfg)
		code, _, _ := rp.do("GET", "/", nil)
		Expect(code).To(Equal(200))
		Eventually(func() int64 {
			s1.srv.SetKeepAlivesEnabled(false) // closes the idle keep-alive connection
			return closed.Load()
		}).Should(BeEquivalentTo(1))
		s1.srv.SetKeepAlivesEnabled(true)
		code, _, _ = rp.do("GET", "/", nil)
		Expect(code).To(Equal(200))
		Expect(s1.receipts.Load()).To(BeEquivalentTo(2), "the dead connection received nothing")
	})
})
