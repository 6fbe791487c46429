package forward_test

import (
	"net/netip"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("Classify", func() {
	DescribeTable("should classify",
		func(addr string, want forward.Class) {
			Expect(forward.Classify(netip.MustParseAddr(addr))).To(Equal(want))
		},
		// A public IPv4 address is the only kind dialled by default.
		Entry(nil, "93.184.216.34", forward.ClassPublic),
		// Public IPv6 lives in 2000::/3.
		Entry(nil, "2606:2800:220:1:248:1893:25c8:1946", forward.ClassPublic),
		// Loopback, both families.
		Entry(nil, "127.0.0.1", forward.ClassLoopback),
		Entry(nil, "127.255.255.254", forward.ClassLoopback),
		Entry(nil, "::1", forward.ClassLoopback),
		// RFC 1918.
		Entry(nil, "10.1.2.3", forward.ClassPrivate),
		Entry(nil, "172.16.0.1", forward.ClassPrivate),
		Entry(nil, "172.31.255.255", forward.ClassPrivate),
		Entry(nil, "192.168.1.1", forward.ClassPrivate),
		// 172.32/16 is outside 172.16/12: public.
		Entry(nil, "172.32.0.1", forward.ClassPublic),
		// Cloud metadata endpoints are link-local.
		Entry(nil, "169.254.169.254", forward.ClassLinkLocal),
		Entry(nil, "fe80::1", forward.ClassLinkLocal),
		// CGNAT (smokescreen PR #265).
		Entry(nil, "100.64.0.1", forward.ClassCGNAT),
		Entry(nil, "100.127.255.255", forward.ClassCGNAT),
		// ULA; fd00:ec2::254 is the AWS IPv6 metadata address.
		Entry(nil, "fd00:ec2::254", forward.ClassULA),
		// Unspecified: 0.0.0.0 reaches the local host on Linux.
		Entry(nil, "0.0.0.0", forward.ClassUnspecified),
		Entry(nil, "::", forward.ClassUnspecified),
		// "This network".
		Entry(nil, "0.1.2.3", forward.ClassReserved),
		// Multicast and broadcast.
		Entry(nil, "224.0.0.1", forward.ClassMulticast),
		Entry(nil, "ff02::1", forward.ClassMulticast),
		Entry(nil, "255.255.255.255", forward.ClassBroadcast),
		// Class E.
		Entry(nil, "240.0.0.1", forward.ClassReserved),
		// IPv4 embedded in IPv6 (smokescreen #277): mapped, NAT64, 6to4, Teredo, compatible.
		Entry(nil, "::ffff:127.0.0.1", forward.ClassEmbeddedIPv4),
		Entry(nil, "::ffff:93.184.216.34", forward.ClassEmbeddedIPv4),
		Entry(nil, "64:ff9b::7f00:1", forward.ClassEmbeddedIPv4),
		Entry(nil, "64:ff9b:1::a00:1", forward.ClassEmbeddedIPv4),
		Entry(nil, "2002:7f00:1::", forward.ClassEmbeddedIPv4),
		Entry(nil, "2001:0:4136:e378:8000:63bf:3fff:fdd2", forward.ClassEmbeddedIPv4),
		Entry(nil, "::127.0.0.1", forward.ClassEmbeddedIPv4),
		// Documentation and benchmarking ranges never hold real servers.
		Entry(nil, "192.0.2.1", forward.ClassReserved),
		Entry(nil, "198.18.0.1", forward.ClassReserved),
		Entry(nil, "2001:db8::1", forward.ClassReserved),
		// IPv6 outside 2000::/3 (and not otherwise named) is not global.
		Entry(nil, "100::1", forward.ClassReserved),
	)

	It("should call the zero address invalid", func() {
		Expect(forward.Classify(netip.Addr{})).To(Equal(forward.ClassInvalid))
	})
})

// FuzzClassify checks Classify against net/netip's own predicates: nothing
// netip calls loopback, private, link-local, multicast or unspecified may be
// public, and everything public must be global unicast.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"93.184.216.34", "127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "fd00::1", "fe80::1",
		"::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002::1", "2001::1", "ff02::1", "255.255.255.255", "0.0.0.0", "::",
		"2606:4700::1111", "224.0.0.1", "::1",
	} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		c := forward.Classify(a)
		nonGlobal := a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
			a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsGlobalUnicast()
		if nonGlobal && c.Public() {
			t.Fatalf("%s: netip says not global, Classify says %s", a, c)
		}
		if a.Is4In6() && c != forward.ClassEmbeddedIPv4 {
			t.Fatalf("%s: IPv4-mapped classified %s", a, c)
		}
		if a.Is4() && a.IsLoopback() && c != forward.ClassLoopback {
			t.Fatalf("%s: loopback classified %s", a, c)
		}
		if a.Is4() && a.IsPrivate() && c != forward.ClassPrivate {
			t.Fatalf("%s: private classified %s", a, c)
		}
		if c.String() == "unknown" {
			t.Fatalf("%s: class %d has no name", a, c)
		}
	})
}
