package forward

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxAddrStrings bounds addrStrings; past it strings are built each time.
const maxAddrStrings = 4096

// addrStrings caches the "ip:port" form of vetted addresses: the upstream
// connection pools are keyed by that string, and a proxy talks to far fewer
// addresses than it serves requests. A hit is a sync.Map load and takes no
// lock; a miss stores one entry without copying the others.
type addrStrings struct {
	m sync.Map // netip.AddrPort -> string
	// n counts the slots taken in m. A writer reserves its slot before it
	// stores, so m never holds more than maxAddrStrings entries.
	n atomic.Int64
}

// get returns ap.String(), from the cache when it can.
func (c *addrStrings) get(ap netip.AddrPort) string {
	if s, ok := c.m.Load(ap); ok {
		return s.(string)
	}
	s := ap.String()
	if !c.reserve() {
		return s
	}
	if prev, loaded := c.m.LoadOrStore(ap, s); loaded {
		c.n.Add(-1) // another writer stored ap first: give the slot back
		return prev.(string)
	}
	return s
}

// reserve takes one of the maxAddrStrings slots, or reports that all are taken.
func (c *addrStrings) reserve() bool {
	for {
		n := c.n.Load()
		if n >= maxAddrStrings {
			return false
		}
		if c.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}
