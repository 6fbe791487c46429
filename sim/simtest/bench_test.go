package simtest_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
	"github.com/proxylab/proxylab/sim/simtest"
)

// bigLedger is a ledger of n answered GETs spread over three servers, one
// second of load at n/s.
func bigLedger(n int) *sim.Ledger {
	t0 := time.Now()
	l := sim.NewLedger(t0)
	for i := range n {
		id := fmt.Sprintf("cli%d-%d", i%3+1, i)
		at := t0.Add(time.Duration(i) * time.Second / time.Duration(n))
		srv := fmt.Sprintf("server%d", i%3+1)
		l.Sent(id, "cli1", http.MethodGet, "http://proxy/", nil, at)
		l.Received(server.Receipt{Server: srv, ID: id, At: at})
		l.Done(client.Outcome{ID: id, Status: 200, Server: srv, Latency: time.Duration(i%1000) * time.Microsecond})
	}
	return l
}

// The matchers run once per assertion over the whole ledger; these say what
// one costs on a run of 100k requests.
func BenchmarkLedgerMatchers(b *testing.B) {
	l := bigLedger(100_000)
	weights := map[string]int{"server1": 1, "server2": 1, "server3": 1}
	b.Run("HaveLostNothing", func(b *testing.B) {
		for b.Loop() {
			if ok, err := simtest.HaveLostNothing().Match(l); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("ReceiveNoTrafficBetween", func(b *testing.B) {
		for b.Loop() {
			if ok, err := simtest.ReceiveNoTrafficBetween(2*time.Second, 0).Match(simtest.ServerIn(l, "server2")); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("BeDistributedLike", func(b *testing.B) {
		for b.Loop() {
			if ok, err := simtest.BeDistributedLike(weights, 0.01).Match(l); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("HaveLatencyPercentile", func(b *testing.B) {
		for b.Loop() {
			if ok, err := simtest.HaveLatencyPercentile(99, gomega.BeNumerically(">=", time.Duration(0))).Match(l); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
