package simtest_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
	"github.com/proxylab/proxylab/sim/simtest"
)

// Build starts a world outside Ginkgo: three servers behind the built-in
// reverse proxy, round robin.
func ExampleBuild() {
	ctx := context.Background()
	w, err := simtest.Build(ctx, simtest.WithServers(3), simtest.WithReverseProxy(reverse.Config{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Stop(ctx)

	for range 6 {
		w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
	}
	counts := w.Ledger().Counts(0, 0)
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n, counts[n])
	}
	fmt.Println("lost:", w.Ledger().Summary().Lost)
	// Output:
	// server1 2
	// server2 2
	// server3 2
	// lost: 0
}

// Drive sends a load plan through the world's clients while a server
// crashes; RecordEvents says when the crash was done.
func ExampleDrive() {
	ctx := context.Background()
	w, err := simtest.Build(ctx, simtest.WithServers(3), simtest.WithReverseProxy(reverse.Config{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Stop(ctx)

	var events []simtest.EventRecord
	rep, err := simtest.Drive(ctx, w, loadgen.Plan{Phases: []loadgen.Phase{
		{Name: "steady", Duration: 300 * time.Millisecond, Pacer: loadgen.Constant(50)},
	}}, simtest.At(100*time.Millisecond, simtest.Crash("server3")), simtest.RecordEvents(&events))
	if err != nil {
		fmt.Println(err)
		return
	}
	quiet, _ := simtest.ReceiveNoTrafficBetween(events[0].Done, 0).Match(simtest.Server(w, "server3"))
	nothingLost, _ := simtest.HaveLostNothing().Match(w)
	fmt.Println("phase:", rep.Phases[0].Name)
	fmt.Println("event:", events[0].Name)
	fmt.Println("server3 quiet after the crash:", quiet)
	fmt.Println("nothing lost:", nothingLost)
	// Output:
	// phase: steady
	// event: crash server3
	// server3 quiet after the crash: true
	// nothing lost: true
}

// BeServedBy says which server answered instead.
func ExampleBeServedBy() {
	ctx := context.Background()
	w, err := simtest.Build(ctx, simtest.WithServers(2), simtest.WithForwardProxy(forward.Config{Open: true}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Stop(ctx)

	out := w.Do(ctx, "cli1", client.Request{URL: "http://server2/"})
	m := simtest.BeServedBy("server1")
	ok, _ := m.Match(out)
	fmt.Println(ok)
	fmt.Println(m.FailureMessage(out))
	// Output:
	// false
	// Expected response cli1-1 to be served by server1
	// observed: GET http://server2/ was answered 200 by server2
}

// BeDistributedLike shows every server's share against its weight's.
func ExampleBeDistributedLike() {
	counts := map[string]int{"server1": 70, "server2": 30}
	m := simtest.BeDistributedLike(map[string]int{"server1": 1, "server2": 1}, 0.05)
	ok, _ := m.Match(counts)
	fmt.Println(ok)
	fmt.Println(m.FailureMessage(counts))
	// Output:
	// false
	// Expected the counts to be distributed like {server1:1 server2:1} within ±5.0%
	// observed: 100 requests: server1 70 (70.0%, want 50.0%) off; server2 30 (30.0%, want 50.0%) off
}

// HaveLatencyPercentile wraps any Gomega matcher of a time.Duration.
func ExampleHaveLatencyPercentile() {
	samples := []time.Duration{2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond, 90 * time.Millisecond}
	m := simtest.HaveLatencyPercentile(99, gomega.BeNumerically("<", 50*time.Millisecond))
	ok, _ := m.Match(samples)
	fmt.Println(ok)
	fmt.Println(m.FailureMessage(samples))
	// Output:
	// false
	// Expected the latencies to have a p99 latency that satisfies the matcher
	// observed: p99 is 90ms (of 4: min 2ms p50 3ms max 90ms)
	// Expected
	//     <time.Duration>: 90000000
	// to be <
	//     <time.Duration>: 50000000
}

// HaveNoUnsafeDuplicates lists the POSTs that reached servers twice, here in
// a ledger filled by hand.
func ExampleHaveNoUnsafeDuplicates() {
	l := sim.NewLedger(time.Now())
	l.Sent("cli1-1", "cli1", http.MethodPost, "http://proxy/orders", nil, time.Now())
	l.Received(server.Receipt{Server: "server1", ID: "cli1-1"})
	l.Received(server.Receipt{Server: "server2", ID: "cli1-1"})
	l.Done(client.Outcome{ID: "cli1-1", Status: 200, Server: "server2"})

	m := simtest.HaveNoUnsafeDuplicates()
	ok, _ := m.Match(l)
	fmt.Println(ok)
	fmt.Println(m.FailureMessage(l))
	// Output:
	// false
	// Expected the ledger to have no unsafe request served twice
	// observed: 1 of 1 requests unsafe and served more than once (status 200 1): cli1-1 POST 200 from server2, reached server1+server2
}

// ReceiveNoTrafficBetween lists what arrived in the window, with offsets
// from the ledger's start.
func ExampleReceiveNoTrafficBetween() {
	t0 := time.Now()
	l := sim.NewLedger(t0)
	for i, at := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond} {
		id := fmt.Sprintf("cli1-%d", i+1)
		l.Sent(id, "cli1", http.MethodGet, "http://proxy/", nil, t0.Add(at))
		l.Received(server.Receipt{Server: "server2", ID: id, At: t0.Add(at)})
	}
	m := simtest.ReceiveNoTrafficBetween(time.Second, 2*time.Second)
	st := simtest.ServerIn(l, "server2")
	ok, _ := m.Match(st)
	fmt.Println(ok)
	fmt.Println(m.FailureMessage(st))
	// Output:
	// false
	// Expected server2 to receive no traffic within [1s, 2s)
	// observed: server2 received 1 requests within [1s, 2s) (of 2 in all): cli1-2 at 1.5s
}

// HaveSeenHeader, negated, lists the requests that carried the header.
func ExampleHaveSeenHeader() {
	receipts := []server.Receipt{
		{Server: "server1", ID: "cli1-1", Header: http.Header{"Via": {"1.1 proxylab"}}},
		{Server: "server2", ID: "cli1-2", Header: http.Header{"Via": {"1.1 proxylab"}, "Proxy-Authorization": {"Basic eDp5"}}},
	}
	m := simtest.HaveSeenHeader("Proxy-Authorization")
	ok, _ := m.Match(receipts)
	fmt.Println(ok)
	fmt.Println(m.NegatedFailureMessage(receipts))
	// Output:
	// true
	// Expected the 2 receipts not to have seen header Proxy-Authorization
	// observed: 1 of 2 requests carried Proxy-Authorization: cli1-2 at server2 (Proxy-Authorization: Basic eDp5)
}
