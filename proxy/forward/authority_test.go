package forward_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("ParseAuthority", func() {
	DescribeTable("should accept and canonicalise",
		func(in, host string, port int) {
			h, p, err := forward.ParseAuthority(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(h).To(Equal(host))
			Expect(p).To(BeEquivalentTo(port))
		},
		// The ordinary case.
		Entry(nil, "example.com:443", "example.com", 443),
		// Case and one trailing dot must not make a second name for the ACL (CVE-2022-24825).
		Entry(nil, "Example.COM.:443", "example.com", 443),
		// IPv6 literals come back without brackets.
		Entry(nil, "[2001:db8::1]:443", "2001:db8::1", 443),
		// IPv4-mapped IPv6 stays IPv6 so the classifier can refuse it.
		Entry(nil, "[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80),
		// Short inet_aton form: 127.1 is 127.0.0.1.
		Entry(nil, "127.1:80", "127.0.0.1", 80),
		// One 32-bit decimal number.
		Entry(nil, "2130706433:80", "127.0.0.1", 80),
		// One hex number.
		Entry(nil, "0x7f000001:80", "127.0.0.1", 80),
		// Octal parts.
		Entry(nil, "0177.0.0.1:80", "127.0.0.1", 80),
		// Mixed hex and decimal parts.
		Entry(nil, "0xa9.254.169.254:80", "169.254.169.254", 80),
		// Underscores appear in real service names.
		Entry(nil, "_svc.example.com:8443", "_svc.example.com", 8443),
	)

	DescribeTable("should reject",
		func(in string) {
			_, _, err := forward.ParseAuthority(in)
			Expect(err).To(MatchError(forward.ErrBadAuthority))
		},
		// CONNECT needs a port.
		Entry(nil, "example.com"),
		// Userinfo must never reach the policy (user@host tricks).
		Entry(nil, "user@example.com:443"),
		// A path means an absolute URL, not an authority.
		Entry(nil, "example.com:443/path"),
		// Brackets must hold an IPv6 literal (CVE-2022-29188).
		Entry(nil, "[example.com]:443"),
		// Unclosed bracket.
		Entry(nil, "[::1:443"),
		// Junk after the bracket.
		Entry(nil, "[::1]x:443"),
		// Unbracketed IPv6.
		Entry(nil, "::1:443"),
		// Zones name an interface: never from a client.
		Entry(nil, "[fe80::1%25eth0]:443"),
		// Port out of range.
		Entry(nil, "example.com:65536"),
		// Port zero.
		Entry(nil, "example.com:0"),
		// Signed port.
		Entry(nil, "example.com:+443"),
		// Empty port.
		Entry(nil, "example.com:"),
		// Empty host.
		Entry(nil, ":443"),
		// Spaces.
		Entry(nil, "exa mple.com:443"),
		// A name ending in a number is a broken IPv4 address (WHATWG rule).
		Entry(nil, "foo.123:443"),
		// Five numeric parts.
		Entry(nil, "1.2.3.4.5:443"),
		// Overflowing parts.
		Entry(nil, "256.1.1.1:443"),
		// Empty label.
		Entry(nil, "a..b:443"),
		// Query string.
		Entry(nil, "example.com:443?x"),
	)
})

func FuzzParseAuthority(f *testing.F) {
	for _, s := range []string{
		"example.com:443", "Example.COM.:443", "[2001:db8::1]:443", "[::ffff:127.0.0.1]:80",
		"127.1:80", "2130706433:80", "0x7f000001:80", "0177.0.0.1:80", "user@host:1",
		"[example.com]:443", "::1:443", "a..b:1", "foo.123:443", "1.2.3.4.5:1", "x:65536", "[fe80::1%eth0]:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := forward.ParseAuthority(s)
		if err != nil {
			return
		}
		if port == 0 {
			t.Fatalf("%q: port 0 accepted", s)
		}
		if strings.ContainsAny(host, "@/?#[] \t\r\n%") || host == "" {
			t.Fatalf("%q: host %q has a forbidden byte", s, host)
		}
		if host != strings.ToLower(host) || strings.HasSuffix(host, ".") {
			t.Fatalf("%q: host %q is not canonical", s, host)
		}
		// An IP result must be the canonical spelling, so classifying it is exact.
		if a, err := netip.ParseAddr(host); err == nil && a.String() != host {
			t.Fatalf("%q: IP host %q is not canonical (%s)", s, host, a)
		}
		// Canonical output must parse to itself.
		again := host
		if strings.Contains(host, ":") {
			again = "[" + host + "]"
		}
		h2, p2, err := forward.ParseAuthority(again + ":" + itoa(port))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("%q: round trip of %q:%d gave %q:%d, %v", s, host, port, h2, p2, err)
		}
	})
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
