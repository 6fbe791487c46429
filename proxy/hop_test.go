package proxy_test

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
)

var _ = Describe("RemoveHopByHop", func() {
	var h http.Header

	BeforeEach(func() {
		h = http.Header{}
		h.Set("Content-Type", "text/plain")
		h.Set("X-Keep", "1")
	})

	It("should remove the RFC 9110 hop-by-hop headers and the legacy ones", func() {
		for _, name := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
			"Proxy-Authorization", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings"} {
			h.Set(name, "x")
		}
		proxy.RemoveHopByHop(h)
		Expect(h).To(HaveLen(2))
		Expect(h.Get("X-Keep")).To(Equal("1"))
	})

	It("should remove the headers Connection lists, but not what it does not", func() {
		h.Set("Connection", "X-Foo, close ,  X-Bar")
		h.Set("X-Foo", "1")
		h.Set("X-Bar", "1")
		proxy.RemoveHopByHop(h)
		Expect(h).NotTo(HaveKey("X-Foo"))
		Expect(h).NotTo(HaveKey("X-Bar"))
		Expect(h).To(HaveKey("X-Keep"))
	})

	DescribeTable("should keep TE only as trailers",
		func(te string, want []string) {
			h.Set("Te", te)
			proxy.RemoveHopByHop(h)
			Expect(h["Te"]).To(Equal(want))
		},
		// gRPC needs "TE: trailers" to reach the upstream.
		Entry("trailers alone", "trailers", []string{"trailers"}),
		// Transfer codings other than trailers are hop-by-hop and must go.
		Entry("gzip alone", "gzip", nil),
		// A mixed list keeps only the trailers token.
		Entry("mixed list", "gzip;q=0.5, trailers", []string{"trailers"}),
	)
})

var _ = Describe("h2c upgrade headers", func() {
	It("should strip Upgrade: h2c, HTTP2-Settings and their Connection tokens only", func() {
		h := http.Header{}
		h.Set("Upgrade", "h2c")
		h.Set("Http2-Settings", "AAMAAABkAAQAAP__")
		h.Set("Connection", "Upgrade, HTTP2-Settings, X-Other")
		Expect(proxy.IsH2CUpgrade(h)).To(BeTrue())
		proxy.StripH2CUpgrade(h)
		Expect(h).NotTo(HaveKey("Upgrade"))
		Expect(h).NotTo(HaveKey("Http2-Settings"))
		Expect(h.Get("Connection")).To(Equal("X-Other"))
	})

	It("should leave a WebSocket upgrade alone", func() {
		h := http.Header{}
		h.Set("Upgrade", "websocket")
		h.Set("Connection", "Upgrade")
		proxy.StripH2CUpgrade(h)
		Expect(proxy.UpgradeType(h)).To(Equal("websocket"))
	})
})

var _ = Describe("Via", func() {
	It("should append this hop and find it again", func() {
		h := http.Header{}
		h.Set("Via", "1.0 fred")
		proxy.AddVia(h, "HTTP/1.1", "proxylab")
		Expect(h.Get("Via")).To(Equal("1.0 fred, 1.1 proxylab"))
		Expect(proxy.ViaContains(h, "proxylab")).To(BeTrue())
		Expect(proxy.ViaContains(h, "fred")).To(BeTrue())
		Expect(proxy.ViaContains(h, "other")).To(BeFalse())
	})

	It("should write HTTP/2 as 2", func() {
		h := http.Header{}
		proxy.AddVia(h, "HTTP/2.0", "p")
		Expect(h.Get("Via")).To(Equal("2 p"))
	})
})
