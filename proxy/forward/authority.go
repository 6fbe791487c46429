package forward

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrBadAuthority is wrapped by every error ParseAuthority returns, so callers
// can answer 400 without inspecting the message.
var ErrBadAuthority = errors.New("bad authority")

// ParseAuthority parses a CONNECT target (RFC 9110 §9.3.6 authority-form,
// "host:port") the way the proxy's policy sees it. It rejects userinfo,
// paths, queries, fragments, a missing or out-of-range port, bad brackets,
// IPv6 zones and trailing junk. Host names are lowercased and one trailing dot
// is stripped (so "Example.COM." and "example.com" are one name to the ACL).
// IPv4 addresses written in the legacy inet_aton spellings ("127.1",
// "2130706433", "0x7f000001", "0177.0.0.1") are returned as the canonical
// dotted quad they mean, so the classifier sees what a dialler would reach.
// IPv6 literals are returned without brackets.
func ParseAuthority(s string) (host string, port uint16, err error) {
	return parseAuthority(s, 0)
}

// parseAuthority is ParseAuthority with a default port for targets that may
// omit it (absolute-form URLs); defaultPort 0 means the port is required.
func parseAuthority(s string, defaultPort uint16) (string, uint16, error) {
	if s == "" {
		return "", 0, fmt.Errorf("%w: empty, want host:port", ErrBadAuthority)
	}
	if i := strings.IndexAny(s, "@/?#\\ \t\r\n%"); i >= 0 {
		return "", 0, fmt.Errorf("%w: %q contains %q, want host:port", ErrBadAuthority, s, s[i])
	}
	hostPart, portPart, hasPort, err := splitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	var port uint16
	switch {
	case hasPort:
		if port, err = parsePort(portPart); err != nil {
			return "", 0, fmt.Errorf("%w: %q: %w", ErrBadAuthority, s, err)
		}
	case defaultPort == 0:
		return "", 0, fmt.Errorf("%w: %q has no port, want host:port", ErrBadAuthority, s)
	default:
		port = defaultPort
	}
	if strings.HasPrefix(s, "[") {
		a, _ := netip.ParseAddr(hostPart) // splitHostPort checked it
		return a.String(), port, nil
	}
	host, err := canonicalHost(hostPart)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q: %w", ErrBadAuthority, s, err)
	}
	return host, port, nil
}

// splitHostPort splits "host:port", "[v6]:port", "host" or "[v6]".
func splitHostPort(s string) (host, port string, hasPort bool, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false, fmt.Errorf("%w: %q has an unclosed '['", ErrBadAuthority, s)
		}
		host, rest := s[1:end], s[end+1:]
		if strings.ContainsAny(host, "[]") {
			return "", "", false, fmt.Errorf("%w: %q has nested brackets", ErrBadAuthority, s)
		}
		a, perr := netip.ParseAddr(host)
		if perr != nil || !a.Is6() || a.Zone() != "" {
			return "", "", false, fmt.Errorf("%w: %q: brackets must hold an IPv6 address without zone", ErrBadAuthority, s)
		}
		switch {
		case rest == "":
			return host, "", false, nil
		case rest[0] == ':':
			return host, rest[1:], true, nil
		default:
			return "", "", false, fmt.Errorf("%w: %q has junk after ']'", ErrBadAuthority, s)
		}
	}
	if strings.ContainsAny(s, "[]") {
		return "", "", false, fmt.Errorf("%w: %q has a stray bracket", ErrBadAuthority, s)
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", false, nil
	case 1:
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:], true, nil
	default:
		return "", "", false, fmt.Errorf("%w: %q: an IPv6 address must be in brackets", ErrBadAuthority, s)
	}
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("port %q, want 1-65535", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q, want decimal digits", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q, want 1-65535", s)
	}
	return uint16(n), nil
}

// canonicalHost lowercases a name, strips one trailing dot and turns any
// spelling of an IP address into its canonical form.
func canonicalHost(h string) (string, error) {
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return "", errors.New("IPv6 zones are not allowed")
		}
		if a.Is6() {
			return "", errors.New("an IPv6 address must be in brackets")
		}
		// netip rejects leading zeros, so a dotted quad it accepts is
		// canonical already: h is returned without formatting a.
		return h, nil
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "" {
		return "", errors.New("empty host")
	}
	if a, ok, err := parseLegacyIPv4(h); err != nil {
		return "", err
	} else if ok {
		return a.String(), nil
	}
	if len(h) > 253 {
		return "", errors.New("host name longer than 253 bytes")
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("host label %q, want 1-63 bytes", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("host %q has byte %q, want letters, digits, '-' or '_'", h, c)
			}
		}
	}
	return h, nil
}

// parseLegacyIPv4 reads the inet_aton spellings of an IPv4 address: one to
// four dot-separated parts, each decimal, octal (leading 0) or hex (0x); the
// last part fills the remaining bytes. It reports ok=false for anything that
// is a host name, and an error for a name whose last label is numeric (the
// WHATWG URL rule: such a host is an IPv4 attempt, and a broken one).
func parseLegacyIPv4(h string) (netip.Addr, bool, error) {
	parts := strings.Split(h, ".")
	last := parts[len(parts)-1]
	if _, ok := parseIPv4Part(last); !ok {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, false, fmt.Errorf("%q looks like an IPv4 address with too many parts", h)
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false, fmt.Errorf("%q ends in a number but is not an IPv4 address", h)
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false, fmt.Errorf("%q: part %d is over 255", h, i+1)
		}
		n |= v << (8 * (3 - i))
	}
	rest := vals[len(vals)-1]
	if rest >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false, fmt.Errorf("%q: last part overflows the address", h)
	}
	n |= rest
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true, nil
}

func parseIPv4Part(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		p, base = p[2:], 16
		if p == "" {
			return 0, true // "0x" alone is zero to inet_aton
		}
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	if len(p) > 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(p, base, 64)
	if err != nil || v > 0xffffffff {
		return 0, false
	}
	return v, true
}
