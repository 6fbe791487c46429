package balance_test

import (
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
)

var _ = Describe("consistent_hash", func() {
	const keys = 5000
	var (
		b  balance.Balancer
		us []*balance.Upstream
	)
	BeforeEach(func() {
		b = mustNew(balance.Config{Policy: "consistent_hash", Key: "header:X-Key"})
		us = pool(10)
	})

	// placement maps every key to the server it lands on.
	placement := func(candidates []*balance.Upstream) map[string]string {
		m := make(map[string]string, keys)
		for i := range keys {
			k := fmt.Sprintf("user-%d", i)
			m[k] = b.Pick(request("127.0.2.1", k), candidates).Name
		}
		return m
	}

	It("should send the same key to the same server", func() {
		r := request("127.0.2.1", "alice")
		first := b.Pick(r, us)
		for range 100 {
			Expect(b.Pick(r, us)).To(BeIdenticalTo(first))
		}
	})

	It("should spread keys over every server", func() {
		counts := map[string]int{}
		for _, s := range placement(us) {
			counts[s]++
		}
		Expect(counts).To(HaveLen(10))
		for name, c := range counts {
			Expect(c).To(BeNumerically("~", keys/10, keys/10/3), name)
		}
	})

	It("should move only the removed server's keys, about 1/N of them", func() {
		before := placement(us)
		removed := us[3].Name
		after := placement(append(append([]*balance.Upstream{}, us[:3]...), us[4:]...))
		moved := 0
		for k, s := range before {
			if s == removed {
				Expect(after[k]).NotTo(Equal(removed))
				moved++
				continue
			}
			Expect(after[k]).To(Equal(s), "key %s of a remaining server moved", k)
		}
		Expect(float64(moved) / keys).To(BeNumerically("~", 0.1, 0.03))
	})

	It("should take about 1/(N+1) of the keys for an added server and only those", func() {
		before := placement(us)
		added := balance.NewUpstream("server11", us[0].URL, 1)
		after := placement(append(us, added))
		moved := 0
		for k, s := range after {
			if s != before[k] {
				Expect(s).To(Equal("server11"))
				moved++
			}
		}
		Expect(float64(moved) / keys).To(BeNumerically("~", 1.0/11, 0.03))
	})

	It("should give a server of weight 3 about three times the keys", func() {
		us = pool(3, 3, 1, 1)
		counts := map[string]int{}
		for _, s := range placement(us) {
			counts[s]++
		}
		Expect(float64(counts["server1"]) / keys).To(BeNumerically("~", 0.6, 0.04))
	})

	When("the key's server is over the load bound", func() {
		It("should send the hot key to the next server in key order, then back", func() {
			r := request("127.0.2.1", "hot")
			home := b.Pick(r, us)
			for range 5 {
				home.Acquire()
			}
			// 5 in flight over 10 servers: bound ceil(1.25 × 6 / 10) = 1.
			next := b.Pick(r, us)
			Expect(next).NotTo(BeIdenticalTo(home))
			Expect(b.Pick(r, us)).To(BeIdenticalTo(next), "the spill-over target is stable too")
			for range 5 {
				home.Release()
			}
			Expect(b.Pick(r, us)).To(BeIdenticalTo(home))
		})

		It("should cap the hot key's server while requests pile up", func() {
			r := request("127.0.2.1", "hot")
			var picked []*balance.Upstream
			DeferCleanup(func() {
				for _, u := range picked {
					u.Release()
				}
			})
			for range 100 {
				u := b.Pick(r, us)
				u.Acquire()
				picked = append(picked, u)
			}
			for _, u := range us {
				Expect(u.InFlight()).To(BeNumerically("<=", 13), u.Name) // ceil(1.25 × 100 / 10)
			}
		})
	})

	DescribeTable("should read the key from the configured part of the request",
		func(key string, same, different func(r *http.Request)) {
			b := mustNew(balance.Config{Policy: "consistent_hash", Key: key})
			pickWith := func(set func(r *http.Request)) []string {
				var names []string
				for i := range 20 {
					r := request(fmt.Sprintf("127.0.2.%d", i+1), fmt.Sprintf("noise-%d", i))
					r.RequestURI = fmt.Sprintf("/noise/%d", i)
					set(r)
					names = append(names, b.Pick(r, us).Name)
				}
				return names
			}
			first := pickWith(same)
			Expect(first).To(HaveEach(first[0]), "same key, same server")
			Expect(pickWith(different)).NotTo(HaveEach(first[0]), "varied key, varied servers")
		},
		// client IP: port changes, address does not
		Entry("ip", "ip",
			func(r *http.Request) { r.RemoteAddr = "127.0.2.9:" + r.RemoteAddr[len(r.RemoteAddr)-4:] },
			func(r *http.Request) {}),
		// a header chosen by name
		Entry("header", "header:X-Tenant",
			func(r *http.Request) { r.Header.Set("X-Tenant", "acme") },
			func(r *http.Request) { r.Header.Set("X-Tenant", r.RemoteAddr) }),
		// a cookie chosen by name
		Entry("cookie", "cookie:sid",
			func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sid", Value: "abc"}) },
			func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sid", Value: r.RemoteAddr[:11]}) }),
		// path and query
		Entry("uri", "uri",
			func(r *http.Request) { r.RequestURI = "/cart?id=1" },
			func(r *http.Request) {}),
	)

	It("should go round robin for requests without the key", func() {
		counts := map[string]int{}
		for range 100 {
			r := request("127.0.2.1", "")
			counts[b.Pick(r, us).Name]++
		}
		Expect(counts).To(HaveLen(10))
		Expect(counts).To(HaveEach(10))
	})
})
