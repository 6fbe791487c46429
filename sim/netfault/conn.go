package netfault

import (
	"hash/fnv"
	"math"
	"net"
	"sync"
	"time"
)

// conn is one relayed connection: the client side, the upstream side, and a
// pump for each direction.
type conn struct {
	link   *Link
	seq    uint64
	client *net.TCPConn
	server *net.TCPConn  // nil until dialled
	pumps  [2]*pump      // by Direction; guarded by link.mu
	done   chan struct{} // closed by closeBoth
	once   sync.Once
	mu     sync.Mutex
	seen   map[string]bool // toxics counted in Stats.Applied
}

func newConn(l *Link, seq uint64, c *net.TCPConn) *conn {
	return &conn{link: l, seq: seq, client: c, done: make(chan struct{}), seen: map[string]bool{}}
}

// applies decides, from the seed alone, whether toxic t applies to this
// connection, and counts it the first time it does.
func (c *conn) applies(t Toxic) bool {
	ok := t.Probability >= 1 || decide(c.link.cfg.Seed, c.seq, t.Name) < t.Probability
	if ok {
		c.mu.Lock()
		first := !c.seen[t.Name]
		c.seen[t.Name] = true
		c.mu.Unlock()
		if first {
			c.link.countApplied(t.Name)
		}
	}
	return ok
}

// decide maps (seed, connection, toxic name) to a number in [0, 1).
func decide(seed, seq uint64, name string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	x := splitmix64(seed ^ splitmix64(seq) ^ h.Sum64())
	return float64(x>>11) / (1 << 53)
}

// splitmix64 scatters its input over the whole 64-bit range.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// active returns the toxics of st in direction d that apply to c.
func (c *conn) active(st *state, d Direction) []Toxic {
	var out []Toxic
	for _, t := range st.toxics[d] {
		if c.applies(t) {
			out = append(out, t)
		}
	}
	return out
}

// run waits out a partition, dials the upstream and relays until both
// directions end.
func (c *conn) run() {
	l := c.link
	defer l.wg.Done()
	defer l.forget(c)
	defer c.closeBoth(false)
	for st := l.state(); st.partitioned; st = l.state() {
		select {
		case <-st.changed:
		case <-l.ctx.Done():
			return
		}
	}
	if c.resetAtOnce(l.state()) {
		c.closeBoth(true)
		return
	}
	up, err := l.dialer().DialContext(l.ctx, "tcp", l.cfg.Upstream)
	if err != nil {
		return // the client sees its connection closed
	}
	l.mu.Lock()
	c.server = up.(*net.TCPConn)
	c.pumps[Upstream] = newPump(c, Upstream, c.client, c.server)
	c.pumps[Downstream] = newPump(c, Downstream, c.server, c.client)
	closed := l.closed
	l.mu.Unlock()
	select {
	case <-c.done: // closed while dialling: closeBoth did not see the upstream side
		_ = up.Close()
		return
	default:
	}
	if closed {
		return
	}
	watched := make(chan struct{})
	go func() { defer close(watched); c.watch() }()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.pumps[Upstream].run() }()
	go func() { defer wg.Done(); c.pumps[Downstream].run() }()
	wg.Wait()
	c.closeBoth(false)
	<-watched
}

// resetAtOnce reports whether a reset_peer toxic with no delay applies, so
// the connection is reset before a byte passes.
func (c *conn) resetAtOnce(st *state) bool {
	for _, d := range []Direction{Upstream, Downstream} {
		for _, t := range c.active(st, d) {
			if t.Type == ResetPeer && t.Delay == 0 {
				return true
			}
		}
	}
	return false
}

// closeBoth closes both sides, with an RST when reset is true. Only the first
// call acts.
func (c *conn) closeBoth(reset bool) {
	c.once.Do(func() {
		close(c.done)
		c.link.mu.Lock()
		server := c.server
		c.link.mu.Unlock()
		for _, s := range []*net.TCPConn{c.client, server} {
			if s == nil {
				continue
			}
			if reset {
				_ = s.SetLinger(0)
			}
			_ = s.Close()
		}
	})
}

// watch runs the toxics that act on time rather than on bytes: reset_peer
// resets the connection Delay after it starts applying, timeout closes it
// Timeout after. It returns when the connection ends.
func (c *conn) watch() {
	l := c.link
	since := map[string]time.Time{} // when each timed toxic started applying
	for {
		st := l.state()
		now := time.Now()
		next := time.Duration(math.MaxInt64)
		fire := false
		reset := false
		current := map[string]bool{}
		for _, d := range []Direction{Upstream, Downstream} {
			for _, t := range c.active(st, d) {
				var after time.Duration
				switch {
				case t.Type == ResetPeer:
					after = t.Delay
				case t.Type == Timeout && t.Timeout > 0:
					after = t.Timeout
				default:
					continue
				}
				current[t.Name] = true
				if _, ok := since[t.Name]; !ok {
					since[t.Name] = now
				}
				left := after - now.Sub(since[t.Name])
				if left <= 0 {
					fire, reset = true, reset || t.Type == ResetPeer
				} else if left < next {
					next = left
				}
			}
		}
		for name := range since {
			if !current[name] {
				delete(since, name) // removed: a later re-add starts afresh
			}
		}
		if fire {
			c.closeBoth(reset)
			return
		}
		var timer <-chan time.Time
		var t *time.Timer
		if next != time.Duration(math.MaxInt64) {
			t = time.NewTimer(next)
			timer = t.C
		}
		ended := false
		select {
		case <-st.changed:
		case <-timer:
		case <-c.done:
			ended = true
		case <-l.ctx.Done():
			ended = true
		}
		if t != nil {
			t.Stop()
		}
		if ended {
			return
		}
	}
}
