package balance

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// keyKind says which part of a request consistent_hash hashes.
type keyKind int

const (
	keyIP keyKind = iota
	keyHeader
	keyCookie
	keyURI
)

// hashKey is a parsed Config.Key.
type hashKey struct {
	kind keyKind
	name string // header or cookie name
}

// parseKey reads "ip", "uri", "header:NAME" or "cookie:NAME".
func parseKey(s string) (hashKey, error) {
	kind, name, hasName := strings.Cut(strings.TrimSpace(s), ":")
	switch {
	case kind == "ip" && !hasName:
		return hashKey{kind: keyIP}, nil
	case kind == "uri" && !hasName:
		return hashKey{kind: keyURI}, nil
	case kind == "header" && name != "":
		return hashKey{kind: keyHeader, name: http.CanonicalHeaderKey(name)}, nil
	case kind == "cookie" && name != "":
		return hashKey{kind: keyCookie, name: name}, nil
	}
	return hashKey{}, fmt.Errorf("hash key %q: want ip, uri, header:NAME or cookie:NAME", s)
}

// value returns the key of r, or false when r does not carry it (no such
// header or cookie), in which case the policy falls back to round robin.
func (k hashKey) value(r *http.Request) (string, bool) {
	if r == nil {
		return "", false
	}
	switch k.kind {
	case keyIP:
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return host, true
		}
		return r.RemoteAddr, r.RemoteAddr != ""
	case keyHeader:
		v := r.Header[k.name]
		if len(v) == 0 || v[0] == "" {
			return "", false
		}
		return v[0], true
	case keyCookie:
		c, err := r.Cookie(k.name)
		if err != nil || c.Value == "" {
			return "", false
		}
		return c.Value, true
	case keyURI:
		if r.RequestURI != "" {
			return r.RequestURI, true
		}
		if r.URL == nil {
			return "", false
		}
		return r.URL.RequestURI(), true
	}
	return "", false
}

// fnv64 is FNV-1a over s, without allocating.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is the splitmix64 finalizer: it spreads every input bit over the
// output, so related keys and names give unrelated scores.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unit maps h to (0, 1).
func unit(h uint64) float64 {
	return (float64(h>>11) + 0.5) / (1 << 53)
}
