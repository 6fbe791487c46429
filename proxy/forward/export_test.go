package forward

import (
	"net/netip"
	"sync/atomic"
)

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

// SeriesCache exposes the metrics' label-set cache to the specs, over a
// lookup that returns twice its key and counts its calls.
type SeriesCache struct {
	c     seriesCache[int, int]
	calls atomic.Int64
}

// MaxCachedSeries is the cache's bound.
const MaxCachedSeries = maxCachedSeries

func NewSeriesCache() *SeriesCache {
	s := &SeriesCache{}
	s.c.series = func(k int) int { s.calls.Add(1); return 2 * k }
	return s
}

// Get looks k up through the cache.
func (s *SeriesCache) Get(k int) int { return s.c.get(k) }

// Calls counts the lookups that reached the series function.
func (s *SeriesCache) Calls() int64 { return s.calls.Load() }

// Len counts the cached label sets.
func (s *SeriesCache) Len() int {
	if m := s.c.cur.Load(); m != nil {
		return len(*m)
	}
	return 0
}
