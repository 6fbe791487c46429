package balance_test

import (
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/balance"
)

var _ = Describe("sticky_cookie", func() {
	var (
		b  balance.Balancer
		rs balance.Responder
		us []*balance.Upstream
	)
	BeforeEach(func() {
		b = mustNew(balance.Config{Policy: "sticky_cookie", Secret: "s3cret"})
		var ok bool
		rs, ok = b.(balance.Responder)
		Expect(ok).To(BeTrue(), "sticky_cookie must implement Responder")
		us = pool(3)
	})

	// choose picks for r and returns the upstream and the cookie set, if any.
	choose := func(r *http.Request, candidates []*balance.Upstream) (*balance.Upstream, *http.Cookie) {
		u := b.Pick(r, candidates)
		w := httptest.NewRecorder()
		rs.Chosen(w, r, u)
		for _, c := range w.Result().Cookies() {
			if c.Name == balance.DefaultCookie {
				return u, c
			}
		}
		return u, nil
	}

	It("should pin a client to the server its cookie names", func() {
		u, c := choose(request("127.0.2.1", ""), us)
		Expect(c).NotTo(BeNil())
		Expect(c.Value).NotTo(ContainSubstring(u.Name), "the cookie must not reveal the server")
		Expect(c.HttpOnly).To(BeTrue())
		for range 20 {
			r := request("127.0.2.1", "")
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			again, set := choose(r, us)
			Expect(again).To(BeIdenticalTo(u))
			Expect(set).To(BeNil(), "no new cookie when the pin holds")
		}
	})

	It("should fall back to round robin and re-pin when the server is gone", func() {
		pinned := b.(*balance.StickyCookie).CookieValue("server2")
		r := request("127.0.2.1", "")
		r.AddCookie(&http.Cookie{Name: balance.DefaultCookie, Value: pinned})
		Expect(b.Pick(r, us)).To(BeIdenticalTo(us[1]))

		u, c := choose(r, []*balance.Upstream{us[0], us[2]})
		Expect(u.Name).NotTo(Equal("server2"))
		Expect(c).NotTo(BeNil())
		Expect(c.Value).To(Equal(b.(*balance.StickyCookie).CookieValue(u.Name)))
	})

	It("should not honour a forged cookie", func() {
		r := request("127.0.2.1", "")
		r.AddCookie(&http.Cookie{Name: balance.DefaultCookie, Value: "server3"})
		counts := map[string]int{}
		for range 30 {
			counts[b.Pick(r, us).Name]++
		}
		Expect(counts).To(Equal(map[string]int{"server1": 10, "server2": 10, "server3": 10}))
	})

	It("should sign differently with a different secret", func() {
		other, err := balance.NewStickyCookie(balance.Config{Secret: "other"})
		Expect(err).NotTo(HaveOccurred())
		Expect(other.CookieValue("server1")).NotTo(Equal(b.(*balance.StickyCookie).CookieValue("server1")))
	})

	It("should use the configured cookie name", func() {
		b := mustNew(balance.Config{Policy: "sticky_cookie", Cookie: "route"})
		w := httptest.NewRecorder()
		r := request("127.0.2.1", "")
		b.(balance.Responder).Chosen(w, r, b.Pick(r, us))
		Expect(w.Result().Cookies()).To(ContainElement(HaveField("Name", "route")))
	})
})
