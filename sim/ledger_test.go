package sim_test

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
)

var _ = Describe("Ledger", func() {
	var (
		l  *sim.Ledger
		t0 time.Time
	)

	BeforeEach(func() {
		t0 = time.Now()
		l = sim.NewLedger(t0)
		l.KnowServer("server1")
		l.KnowServer("server2")
	})

	send := func(id, method, url string, h http.Header) {
		l.Sent(id, "cli1", method, url, h, t0)
	}
	receive := func(id, srv string, at time.Duration) {
		l.Received(server.Receipt{Server: srv, ID: id, At: t0.Add(at)})
	}
	answer := func(id, srv string, status int, kind client.ErrKind) {
		l.Done(client.Outcome{ID: id, Client: "cli1", Server: srv, Status: status, ErrKind: kind})
	}

	It("should tell lost, failed and in-flight requests apart", func() {
		send("a", "GET", "http://proxy/", nil)
		receive("a", "server1", time.Second)
		answer("a", "server1", 200, client.ErrNone)
		send("b", "GET", "http://proxy/", nil)
		answer("b", "", 0, client.ErrReset) // no response at all: lost
		send("c", "GET", "http://proxy/", nil)
		receive("c", "server2", time.Second)
		answer("c", "server2", 503, client.ErrNone) // answered, but failed
		send("d", "GET", "http://proxy/", nil)      // still in flight
		s := l.Summary()
		Expect(s.Sent).To(Equal(4))
		Expect(s.Lost).To(Equal(2)) // b, and d which has no outcome
		Expect(s.Failed).To(Equal(3))
		Expect(s.Succeeded).To(Equal(1))
		Expect(s.InFlight).To(Equal(1))
		Expect(s.Unreached).To(Equal(2))
	})

	It("should count a POST served twice as an unsafe duplicate, but not a retried GET or a keyed POST", func() {
		send("get", "GET", "http://proxy/", nil)
		receive("get", "server1", 0)
		receive("get", "server2", 0)
		send("post", "POST", "http://proxy/", nil)
		receive("post", "server1", 0)
		receive("post", "server2", 0)
		send("keyed", "POST", "http://proxy/", http.Header{"Idempotency-Key": {"k1"}})
		receive("keyed", "server1", 0)
		receive("keyed", "server2", 0)
		s := l.Summary()
		Expect(s.Duplicated).To(Equal(3))
		Expect(s.DuplicatedUnsafe).To(Equal(1))
	})

	It("should find a response answered by a server other than the one the URL names", func() {
		send("x", "GET", "http://server1/page", nil)
		receive("x", "server2", 0)
		answer("x", "server2", 200, client.ErrNone)
		e, ok := l.Entry("x")
		Expect(ok).To(BeTrue())
		Expect(e.Want).To(Equal("server1"))
		Expect(l.Summary().Misrouted).To(Equal(1))
	})

	It("should count receipts per server within a window and keep unknown ids apart", func() {
		send("a", "GET", "http://proxy/", nil)
		send("b", "GET", "http://proxy/", nil)
		receive("a", "server1", 500*time.Millisecond)
		receive("b", "server1", 1500*time.Millisecond)
		receive("", "server1", time.Second) // a health probe
		Expect(l.ServerRequests("server1", 0, time.Second)).To(Equal(1))
		Expect(l.ServerRequests("server1", time.Second, 2*time.Second)).To(Equal(1))
		Expect(l.Counts(0, 0)).To(Equal(map[string]int{"server1": 2}))
		Expect(l.Summary().Orphans).To(Equal(1))
	})
})
