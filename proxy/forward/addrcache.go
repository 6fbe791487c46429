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
// addresses than it serves requests. Readers load a map that is never
// written again (copy on write), so a lookup takes no lock.
type addrStrings struct {
	m  atomic.Pointer[map[netip.AddrPort]string]
	mu sync.Mutex // serialises writers
}

// get returns ap.String(), from the cache when it can.
func (c *addrStrings) get(ap netip.AddrPort) string {
	if m := c.m.Load(); m != nil {
		if s, ok := (*m)[ap]; ok {
			return s
		}
	}
	s := ap.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil && len(*old) >= maxAddrStrings {
		return s
	}
	next := make(map[netip.AddrPort]string, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[ap] = s
	c.m.Store(&next)
	return s
}

func lenOf(m *map[netip.AddrPort]string) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
