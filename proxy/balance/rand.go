package balance

import (
	"math/rand/v2"
	"sync"
)

// lockedRand is a seeded math/rand/v2 generator safe for concurrent use.
// Policies own one each, so no choice ever touches the global generator.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// IntN returns a number in [0, n); n must be positive.
func (l *lockedRand) IntN(n int) int {
	l.mu.Lock()
	v := l.r.IntN(n)
	l.mu.Unlock()
	return v
}

// Float64 returns a number in [0, 1).
func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	v := l.r.Float64()
	l.mu.Unlock()
	return v
}

// Uint64 returns a random 64-bit number.
func (l *lockedRand) Uint64() uint64 {
	l.mu.Lock()
	v := l.r.Uint64()
	l.mu.Unlock()
	return v
}
