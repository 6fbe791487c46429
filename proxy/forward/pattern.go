package forward

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Pattern is one compiled destination pattern of Config.Allow, Config.Deny or
// Parent.Match. The syntax:
//
//   - every destination
//     example.com          that name exactly, any port
//     *.example.com        any name below example.com (not example.com itself)
//     example.com:443      a name (or *.name) on one port only
//     10.0.0.0/8, 1.2.3.4  destinations whose IP, literal or resolved, is inside
//     1.2.3.4:443          an IP literal on one port
//
// Names are compared after the same canonicalisation ParseAuthority applies.
type Pattern struct {
	raw    string
	any    bool
	name   string // exact name, or the suffix (".example.com") when suffix is set
	suffix bool
	prefix netip.Prefix // valid for IP/CIDR patterns
	port   uint16       // 0 = any port
}

// ParsePattern compiles one pattern, or says what is wrong with it.
func ParsePattern(s string) (Pattern, error) {
	p := Pattern{raw: s}
	t := strings.TrimSpace(s)
	switch {
	case t == "*":
		p.any = true
		return p, nil
	case t == "":
		return p, fmt.Errorf("empty pattern, want a name, *.name, name:port or CIDR")
	case strings.Contains(t, "/"):
		pre, err := netip.ParsePrefix(t)
		if err != nil {
			return p, fmt.Errorf("pattern %q: want a CIDR such as 10.0.0.0/8: %w", s, err)
		}
		p.prefix = pre.Masked()
		return p, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(t, "[]")); err == nil {
		p.prefix = netip.PrefixFrom(a, a.BitLen())
		return p, nil
	}
	host := t
	if i := strings.LastIndexByte(t, ':'); i >= 0 && !strings.HasSuffix(t, "]") {
		port, err := parsePort(t[i+1:])
		if err != nil {
			return p, fmt.Errorf("pattern %q: %w", s, err)
		}
		p.port, host = port, t[:i]
	}
	if strings.HasPrefix(host, "*.") {
		p.suffix = true
		host = host[2:]
	}
	canon, _, err := parseAuthority(host, 1)
	if err != nil {
		return p, fmt.Errorf("pattern %q: want a name, *.name, name:port or CIDR: %w", s, err)
	}
	if a, err := netip.ParseAddr(canon); err == nil {
		if p.suffix {
			return p, fmt.Errorf("pattern %q: *. cannot precede an IP address", s)
		}
		p.prefix = netip.PrefixFrom(a, a.BitLen())
		return p, nil
	}
	p.name = canon
	if p.suffix {
		p.name = "." + canon
	}
	return p, nil
}

// String returns the pattern as it was written.
func (p Pattern) String() string { return p.raw }

// MatchName reports whether a canonical host name (or IP literal) and port
// match a name pattern. IP/CIDR patterns match IP literals only.
func (p Pattern) MatchName(host string, port uint16) bool {
	if p.port != 0 && p.port != port {
		return false
	}
	switch {
	case p.any:
		return true
	case p.prefix.IsValid():
		a, err := netip.ParseAddr(host)
		return err == nil && p.prefix.Contains(a)
	case p.suffix:
		return strings.HasSuffix(host, p.name) && len(host) > len(p.name)
	default:
		return host == p.name
	}
}

// MatchIP reports whether an address the destination resolved to matches an
// IP/CIDR pattern. Name patterns never match here.
func (p Pattern) MatchIP(a netip.Addr, port uint16) bool {
	if p.port != 0 && p.port != port {
		return false
	}
	return p.any || (p.prefix.IsValid() && p.prefix.Contains(a))
}

// isCIDR reports whether the pattern is about addresses rather than names.
func (p Pattern) isCIDR() bool { return p.prefix.IsValid() }

func compilePatterns(field string, in []string, errs *[]error) []Pattern {
	out := make([]Pattern, 0, len(in))
	for i, s := range in {
		p, err := ParsePattern(s)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s[%d]: %w", field, i, err))
			continue
		}
		out = append(out, p)
	}
	return out
}

// joinHostPort writes host:port with brackets for IPv6.
func joinHostPort(host string, port uint16) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(int(port))
	}
	return host + ":" + strconv.Itoa(int(port))
}
