package forward

import "net/netip"

// AddrStrings exposes the address-string cache to the specs.
type AddrStrings struct{ c addrStrings }

// MaxAddrStrings is the cache's bound.
const MaxAddrStrings = maxAddrStrings

// Get returns ap's string through the cache.
func (a *AddrStrings) Get(ap netip.AddrPort) string { return a.c.get(ap) }

// Len counts the cached entries.
func (a *AddrStrings) Len() int {
	n := 0
	a.c.m.Range(func(any, any) bool { n++; return true })
	return n
}
