package sim_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/netfault"
	"github.com/proxylab/proxylab/sim/server"
)

// startWorld builds and starts a world with servers server1..n, clients cli1..3 and proxy p.
func startWorld(ctx context.Context, n int, p sim.Proxy) *sim.World {
	GinkgoHelper()
	w := sim.New(sim.Options{Seed: 7, ClientTimeout: 2 * time.Second})
	for i := 1; i <= n; i++ {
		_, err := w.AddServer(ctx, server.Config{Name: fmt.Sprintf("server%d", i)}, 1)
		Expect(err).NotTo(HaveOccurred())
	}
	for i := 0; i < 3; i++ {
		_, err := w.AddClient(client.Config{})
		Expect(err).NotTo(HaveOccurred())
	}
	if p != nil {
		w.SetProxy(p)
	}
	Expect(w.Start(ctx)).To(Succeed())
	DeferCleanup(func() { Expect(w.Stop(context.Background())).To(Succeed()) })
	return w
}

var _ = Describe("World", func() {
	It("should give every node its own loopback address", func(ctx SpecContext) {
		w := startWorld(ctx, 3, nil)
		seen := map[string]bool{}
		for _, name := range w.ServerNames() {
			s, _ := w.Server(name)
			u, err := url.Parse(s.URL())
			Expect(err).NotTo(HaveOccurred())
			Expect(seen[u.Hostname()]).To(BeFalse())
			seen[u.Hostname()] = true
			Expect(u.Hostname()).To(HavePrefix("127.0.1."))
		}
		for _, c := range w.Clients() {
			Expect(c.Config().SourceIP).To(HavePrefix("127.0.2."))
		}
	})

	When("it is the reverse drawing", func() {
		var w *sim.World

		BeforeEach(func(ctx SpecContext) {
			w = startWorld(ctx, 3, &sim.ReverseNode{Config: reverse.Config{}})
		})

		It("should spread requests over every server and record them in the ledger", func(ctx SpecContext) {
			for i := 0; i < 30; i++ {
				c := w.Clients()[i%3]
				out := w.DoWith(ctx, c, client.Request{URL: w.TargetURL(c.Name(), "") + "/"})
				Expect(out.Status).To(Equal(200), out.Err)
			}
			s := w.Ledger().Summary()
			Expect(s.Sent).To(Equal(30))
			Expect(s.Succeeded).To(Equal(30))
			Expect(s.Lost).To(BeZero())
			Expect(s.Duplicated).To(BeZero())
			Expect(s.Misrouted).To(BeZero())
			Expect(w.Ledger().Counts(0, 0)).To(Equal(map[string]int{"server1": 10, "server2": 10, "server3": 10}))
		})

		It("should account for every id exactly once when a server crashes under load", func(ctx SpecContext) {
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for _, c := range w.Clients() {
				wg.Add(1)
				go func(c *client.Client) {
					defer wg.Done()
					for i := 0; i < 300; i++ { // bounded
						select {
						case <-stop:
							return
						default:
						}
						w.DoWith(ctx, c, client.Request{URL: w.TargetURL(c.Name(), "") + "/"})
					}
				}(c)
			}
			Eventually(func() int { return w.Ledger().Summary().Sent }).Should(BeNumerically(">", 50))
			Expect(w.Crash("server2")).To(Succeed())
			after := w.Ledger().Summary().Sent
			Eventually(func() int { return w.Ledger().Summary().Sent }).Should(BeNumerically(">", after+50))
			Expect(w.Recover("server2")).To(Succeed())
			close(stop)
			wg.Wait()
			entries := w.Ledger().Entries()
			ids := map[string]int{}
			for _, e := range entries {
				ids[e.ID]++
				Expect(e.Outcome).NotTo(BeNil(), "id %s has no outcome", e.ID)
			}
			for id, n := range ids {
				Expect(n).To(Equal(1), "id %s appears %d times", id, n)
			}
			s := w.Ledger().Summary()
			Expect(s.Sent).To(Equal(len(entries)))
			Expect(s.InFlight).To(BeZero())
			Expect(s.Misrouted).To(BeZero())
		})

		It("should add a server under load and send it traffic", func(ctx SpecContext) {
			_, err := w.AddServer(ctx, server.Config{Name: "server4"}, 1)
			Expect(err).NotTo(HaveOccurred())
			for i := 0; i < 8; i++ {
				w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
			}
			Expect(w.Ledger().ServerRequests("server4", 0, 0)).To(Equal(2))
		})

		It("should swap the proxy's configuration from a YAML patch", func(ctx SpecContext) {
			Expect(w.Reconfigure(ctx, []byte("retry_header: true\n"))).To(Succeed())
			out := w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
			Expect(out.Header.Get("X-Proxylab-Retries")).NotTo(BeEmpty())
			Expect(w.Reconfigure(ctx, []byte("no_such_key: 1\n"))).To(MatchError(ContainSubstring("no_such_key")))
		})
	})

	When("it is the forward drawing", func() {
		It("should reach servers by name through the proxy", func(ctx SpecContext) {
			w := startWorld(ctx, 2, &sim.ForwardNode{Config: forward.Config{Open: true}})
			out := w.Do(ctx, "cli2", client.Request{URL: "http://server2/hello"})
			Expect(out.Status).To(Equal(200), out.Err)
			Expect(out.Server).To(Equal("server2"))
			e, ok := w.Ledger().Entry(out.ID)
			Expect(ok).To(BeTrue())
			Expect(e.Want).To(Equal("server2"))
			Expect(w.Ledger().Summary().Misrouted).To(BeZero())
		})
	})

	When("a link sits on an edge", func() {
		It("should add its latency and cut traffic on a partition", func(ctx SpecContext) {
			w := sim.New(sim.Options{Seed: 1, ClientTimeout: time.Second})
			_, err := w.AddServer(ctx, server.Config{Name: "server1"}, 1)
			Expect(err).NotTo(HaveOccurred())
			_, err = w.AddClient(client.Config{})
			Expect(err).NotTo(HaveOccurred())
			Expect(w.AddLink("slow", "proxy", "server1", netfault.Toxic{
				Name: "lag", Type: netfault.Latency, Direction: netfault.Downstream, Probability: 1, Latency: 60 * time.Millisecond,
			})).To(Succeed())
			w.SetProxy(&sim.ReverseNode{})
			Expect(w.Start(ctx)).To(Succeed())
			DeferCleanup(func() { Expect(w.Stop(context.Background())).To(Succeed()) })

			out := w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
			Expect(out.Status).To(Equal(200), out.Err)
			Expect(out.Latency).To(BeNumerically(">=", 60*time.Millisecond))

			Expect(w.Partition("slow")).To(Succeed())
			out = w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"})
			Expect(out.OK()).To(BeFalse())
			Expect(w.Heal("slow")).To(Succeed())
			Eventually(func() int {
				return w.Do(ctx, "cli1", client.Request{URL: w.TargetURL("cli1", "") + "/"}).Status
			}).Should(Equal(200))
		})
	})
})
