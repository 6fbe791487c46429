package forward

import "net/netip"

// Class is what the SSRF guard knows about an IP address. Only ClassPublic is
// dialled by default; every other class is denied unless an allow_nets range
// contains the address.
type Class uint8

// The classes, from the one that is allowed to the ones that are not.
const (
	ClassPublic       Class = iota // global unicast, reachable on the Internet
	ClassInvalid                   // the zero netip.Addr
	ClassUnspecified               // 0.0.0.0, ::
	ClassLoopback                  // 127/8, ::1
	ClassPrivate                   // RFC 1918: 10/8, 172.16/12, 192.168/16
	ClassLinkLocal                 // 169.254/16, fe80::/10 (cloud metadata lives here)
	ClassCGNAT                     // 100.64/10 (RFC 6598 shared address space)
	ClassULA                       // fc00::/7 unique local IPv6
	ClassMulticast                 // 224/4, ff00::/8
	ClassBroadcast                 // 255.255.255.255
	ClassEmbeddedIPv4              // ::ffff:0:0/96, ::/96, 64:ff9b::/96, 64:ff9b:1::/48, 2002::/16, 2001::/32
	ClassReserved                  // special-purpose or unallocated ranges (0/8, 240/4, documentation, benchmarking, non-2000::/3 IPv6)
)

var classNames = [...]string{
	ClassPublic:       "public",
	ClassInvalid:      "invalid",
	ClassUnspecified:  "unspecified",
	ClassLoopback:     "loopback",
	ClassPrivate:      "private",
	ClassLinkLocal:    "link-local",
	ClassCGNAT:        "cgnat",
	ClassULA:          "ula",
	ClassMulticast:    "multicast",
	ClassBroadcast:    "broadcast",
	ClassEmbeddedIPv4: "ipv4-embedded-ipv6",
	ClassReserved:     "reserved",
}

// String names the class as the decision log and Proxy-Status details do.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Public reports whether the class is dialled without an allow_nets entry.
func (c Class) Public() bool { return c == ClassPublic }

type classRange struct {
	prefix netip.Prefix
	class  Class
}

// classRanges is checked in order; the first match wins, so more specific
// prefixes come before the ranges that contain them.
var classRanges = func() []classRange {
	spec := []struct {
		cidr  string
		class Class
	}{
		// IPv4
		{"255.255.255.255/32", ClassBroadcast},
		{"0.0.0.0/32", ClassUnspecified},
		{"0.0.0.0/8", ClassReserved}, // "this network"
		{"10.0.0.0/8", ClassPrivate},
		{"100.64.0.0/10", ClassCGNAT},
		{"127.0.0.0/8", ClassLoopback},
		{"169.254.0.0/16", ClassLinkLocal},
		{"172.16.0.0/12", ClassPrivate},
		{"192.0.0.0/24", ClassReserved},   // IETF protocol assignments
		{"192.0.2.0/24", ClassReserved},   // TEST-NET-1
		{"192.88.99.0/24", ClassReserved}, // 6to4 relay anycast
		{"192.168.0.0/16", ClassPrivate},
		{"198.18.0.0/15", ClassReserved},   // benchmarking
		{"198.51.100.0/24", ClassReserved}, // TEST-NET-2
		{"203.0.113.0/24", ClassReserved},  // TEST-NET-3
		{"224.0.0.0/4", ClassMulticast},
		{"240.0.0.0/4", ClassReserved},
		// IPv6
		{"::/128", ClassUnspecified},
		{"::1/128", ClassLoopback},
		{"::ffff:0:0/96", ClassEmbeddedIPv4},  // IPv4-mapped
		{"::/96", ClassEmbeddedIPv4},          // IPv4-compatible (deprecated)
		{"64:ff9b::/96", ClassEmbeddedIPv4},   // NAT64 well-known prefix
		{"64:ff9b:1::/48", ClassEmbeddedIPv4}, // NAT64 local-use
		{"2001::/32", ClassEmbeddedIPv4},      // Teredo
		{"2002::/16", ClassEmbeddedIPv4},      // 6to4
		{"2001::/23", ClassReserved},          // IETF protocol assignments
		{"2001:db8::/32", ClassReserved},      // documentation
		{"fc00::/7", ClassULA},
		{"fe80::/10", ClassLinkLocal},
		{"ff00::/8", ClassMulticast},
		{"2000::/3", ClassPublic}, // the only global unicast IPv6 space
		{"::/0", ClassReserved},   // everything else in IPv6
	}
	out := make([]classRange, len(spec))
	for i, s := range spec {
		out[i] = classRange{netip.MustParsePrefix(s.cidr), s.class}
	}
	return out
}()

// Classify says what kind of address a is. It looks at the address exactly
// as given: an IPv4-mapped IPv6 address is ClassEmbeddedIPv4, never the class
// of the IPv4 address inside, so a policy cannot be bypassed by re-spelling.
// Zones are ignored.
func Classify(a netip.Addr) Class {
	if !a.IsValid() {
		return ClassInvalid
	}
	a = a.WithZone("")
	for _, r := range classRanges {
		if r.prefix.Contains(a) {
			return r.class
		}
	}
	return ClassPublic
}
