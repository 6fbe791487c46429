package forward_test

import (
	"net/netip"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("the address-string cache", func() {
	var c *forward.AddrStrings

	BeforeEach(func() {
		c = &forward.AddrStrings{}
	})

	DescribeTable("should give ap.String() on a miss and on a hit",
		func(s string) {
			ap := netip.MustParseAddrPort(s)
			Expect(c.Get(ap)).To(Equal(ap.String()))
			Expect(c.Get(ap)).To(Equal(ap.String()))
			Expect(c.Len()).To(Equal(1))
		},
		// The common case: an IPv4 upstream.
		Entry(nil, "192.0.2.7:8080"),
		// IPv6 is bracketed; a pool keyed without brackets would not match the dialler's.
		Entry(nil, "[2001:db8::1]:443"),
		// An IPv4-mapped IPv6 address keeps its mapped form.
		Entry(nil, "[::ffff:192.0.2.7]:80"),
		// A zone is part of the address and of the key.
		Entry(nil, "[fe80::1%eth0]:80"),
	)

	It("should hold no more than its bound and still answer past it", func() {
		for i := range forward.MaxAddrStrings + 100 {
			ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 80)
			Expect(c.Get(ap)).To(Equal(ap.String()))
		}
		Expect(c.Len()).To(Equal(forward.MaxAddrStrings))
		late := netip.MustParseAddrPort("198.51.100.1:81")
		Expect(c.Get(late)).To(Equal(late.String()))
		Expect(c.Len()).To(Equal(forward.MaxAddrStrings))
	})

	It("should keep the bound when writers race for the same and for different addresses", func() {
		const workers = 8
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				defer GinkgoRecover()
				for i := range forward.MaxAddrStrings / 2 {
					// Half the addresses are shared by every worker, half are the worker's own.
					b := byte(w)
					if i%2 == 0 {
						b = 0xff
					}
					ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, b, byte(i >> 8), byte(i)}), 443)
					Expect(c.Get(ap)).To(Equal(ap.String()))
				}
			})
		}
		wg.Wait()
		Expect(c.Len()).To(Equal(forward.MaxAddrStrings))
	})
})
