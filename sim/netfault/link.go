package netfault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by NewLink to zero fields.
const (
	DefaultListen      = "127.0.0.1:0"
	DefaultDialTimeout = 5 * time.Second
)

// LinkConfig describes one link.
type LinkConfig struct {
	// Name identifies the link in errors and stats; empty means "link".
	Name string `yaml:"name" json:"name"`
	// Listen is the host:port clients connect to; empty means DefaultListen.
	// Use port 0 and read Addr after Start.
	Listen string `yaml:"listen" json:"listen"`
	// Upstream is the host:port every connection is relayed to; required.
	Upstream string `yaml:"upstream" json:"upstream"`
	// Seed derives every random decision; zero is a seed like any other.
	Seed uint64 `yaml:"seed" json:"seed"`
	// DialTimeout bounds the connection to Upstream; zero means DefaultDialTimeout.
	DialTimeout time.Duration `yaml:"dial_timeout" json:"dial_timeout"`
}

// Stats counts a link's traffic since Start.
type Stats struct {
	Connections int64 `json:"connections"` // accepted in total
	Active      int64 `json:"active"`      // open now
	BytesUp     int64 `json:"bytes_up"`    // client→server bytes relayed (counted as each copy ends)
	BytesDown   int64 `json:"bytes_down"`  // server→client bytes relayed
	Dropped     int64 `json:"dropped"`     // bytes dropped by toxics (timeout, limit_data)
	// Applied counts, per toxic name, the connections the toxic applied to
	// (its probability said yes).
	Applied map[string]int64 `json:"applied"`
}

// Link is a fault-injecting TCP relay. It is safe for concurrent use.
type Link struct {
	cfg LinkConfig

	mu      sync.Mutex
	ln      *net.TCPListener
	toxics  []Toxic // in the order added
	st      *state
	conns   map[*conn]struct{}
	seq     uint64
	closed  bool
	started bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connections, active, bytesUp, bytesDown, dropped atomic.Int64
	appliedMu                                        sync.Mutex
	applied                                          map[string]int64
}

// state is an immutable snapshot of what the link does; changed is closed
// when a newer snapshot replaces it.
type state struct {
	toxics      [2][]Toxic // by Direction
	partitioned bool
	changed     chan struct{}
}

// NewLink checks cfg and returns a link that is not yet listening.
func NewLink(cfg LinkConfig) (*Link, error) {
	if cfg.Name == "" {
		cfg.Name = "link"
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("link %s: listen %q: want HOST:PORT like 127.0.4.1:0", cfg.Name, cfg.Listen)
	}
	if _, _, err := net.SplitHostPort(cfg.Upstream); err != nil {
		return nil, fmt.Errorf("link %s: upstream %q: want HOST:PORT like 127.0.1.1:8080", cfg.Name, cfg.Upstream)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Link{
		cfg:     cfg,
		st:      &state{changed: make(chan struct{})},
		conns:   map[*conn]struct{}{},
		ctx:     ctx,
		cancel:  cancel,
		applied: map[string]int64{},
	}, nil
}

// Name returns the link's name.
func (l *Link) Name() string { return l.cfg.Name }

// Upstream returns the address the link relays to.
func (l *Link) Upstream() string { return l.cfg.Upstream }

// Start listens and relays in the background.
func (l *Link) Start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("link %s: start: %w", l.cfg.Name, net.ErrClosed)
	}
	if l.started {
		return fmt.Errorf("link %s: already started on %s", l.cfg.Name, l.ln.Addr())
	}
	ln, err := net.Listen("tcp", l.cfg.Listen)
	if err != nil {
		return fmt.Errorf("link %s: listen %s: %w", l.cfg.Name, l.cfg.Listen, err)
	}
	l.ln, l.started = ln.(*net.TCPListener), true
	l.wg.Add(1)
	go l.acceptLoop()
	return nil
}

// Addr returns the host:port bound by Start ("" before).
func (l *Link) Addr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return ""
	}
	return l.ln.Addr().String()
}

// Close stops listening, closes every connection and waits for the pumps.
// Close is idempotent.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	ln := l.ln
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	l.cancel()
	if ln != nil {
		_ = ln.Close()
	}
	for _, c := range conns {
		c.closeBoth(false)
	}
	l.wg.Wait()
	return nil
}

// AddToxic adds t, or replaces the toxic of the same name. It returns once
// connections already open apply it: a byte written after it returns meets
// the toxic.
func (l *Link) AddToxic(t Toxic) error {
	t = t.normalize()
	if err := t.Validate(); err != nil {
		return fmt.Errorf("link %s: %w", l.cfg.Name, err)
	}
	l.mu.Lock()
	i := slices.IndexFunc(l.toxics, func(x Toxic) bool { return x.Name == t.Name })
	if i >= 0 {
		l.toxics[i] = t
	} else {
		l.toxics = append(l.toxics, t)
	}
	l.publishLocked(l.st.partitioned)
	l.mu.Unlock()
	l.awaitApplied()
	return nil
}

// ErrNoToxic is returned by RemoveToxic for a name the link does not have.
var ErrNoToxic = errors.New("no such toxic")

// RemoveToxic removes the toxic named name. Like AddToxic, it returns once
// connections already open apply the change.
func (l *Link) RemoveToxic(name string) error {
	l.mu.Lock()
	i := slices.IndexFunc(l.toxics, func(x Toxic) bool { return x.Name == name })
	if i < 0 {
		l.mu.Unlock()
		return fmt.Errorf("link %s: remove toxic %q: %w", l.cfg.Name, name, ErrNoToxic)
	}
	l.toxics = slices.Delete(l.toxics, i, i+1)
	l.publishLocked(l.st.partitioned)
	l.mu.Unlock()
	l.awaitApplied()
	return nil
}

// Toxics returns the toxics in the order added, defaults applied.
func (l *Link) Toxics() []Toxic {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.toxics)
}

// Partition blackholes the link: new connections are accepted but neither
// relayed nor read, and open connections stop forwarding both ways, until
// Heal. No byte is dropped: the peers see silence (and TCP back-pressure), as
// across a real partition, and the traffic resumes on Heal.
func (l *Link) Partition() {
	l.mu.Lock()
	if !l.st.partitioned {
		l.publishLocked(true)
	}
	l.mu.Unlock()
	l.awaitApplied()
}

// awaitApplied waits (at most a second) until every pump that was splicing
// under an older state has looked at the current one, so that nothing
// written after a change returns crosses as before it. publishLocked's
// interruption is not enough: a splice the poller had already woken still
// reads what the socket holds when it runs.
func (l *Link) awaitApplied() {
	deadline := time.Now().Add(time.Second)
	for {
		l.mu.Lock()
		busy := false
		for c := range l.conns {
			for _, p := range c.pumps {
				busy = busy || (p != nil && p.fast && p.st != l.st)
			}
		}
		l.mu.Unlock()
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Heal ends a Partition.
func (l *Link) Heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st.partitioned {
		l.publishLocked(false)
	}
}

// Partitioned reports whether the link is partitioned.
func (l *Link) Partitioned() bool { return l.state().partitioned }

// Stats returns a snapshot of the counters.
func (l *Link) Stats() Stats {
	l.appliedMu.Lock()
	applied := make(map[string]int64, len(l.applied))
	for k, v := range l.applied {
		applied[k] = v
	}
	l.appliedMu.Unlock()
	return Stats{
		Connections: l.connections.Load(), Active: l.active.Load(),
		BytesUp: l.bytesUp.Load(), BytesDown: l.bytesDown.Load(), Dropped: l.dropped.Load(),
		Applied: applied,
	}
}

func (l *Link) state() *state {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// publishLocked replaces the state snapshot and interrupts every pump that is
// splicing, so it looks at the new state.
func (l *Link) publishLocked(partitioned bool) {
	next := &state{partitioned: partitioned, changed: make(chan struct{})}
	for _, t := range l.toxics {
		next.toxics[t.Direction] = append(next.toxics[t.Direction], t)
	}
	old := l.st
	l.st = next
	close(old.changed)
	for c := range l.conns {
		for _, p := range c.pumps {
			if p != nil && p.fast {
				_ = p.src.SetReadDeadline(interrupted)
			}
		}
	}
}

// interrupted is a read deadline in the past: it ends a blocked io.Copy.
var interrupted = time.Unix(1, 0)

func (l *Link) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			return // closed
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			_ = c.Close()
			return
		}
		l.seq++
		cn := newConn(l, l.seq, c)
		l.conns[cn] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		l.connections.Add(1)
		l.active.Add(1)
		go cn.run()
	}
}

func (l *Link) forget(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.active.Add(-1)
}

func (l *Link) countApplied(name string) {
	l.appliedMu.Lock()
	l.applied[name]++
	l.appliedMu.Unlock()
}

// dialer returns a dialer bound to the listen IP when it is a specific
// address, so the upstream sees the link's own address as its peer.
func (l *Link) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: l.cfg.DialTimeout}
	host, _, _ := net.SplitHostPort(l.cfg.Listen)
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return d
	}
	upHost, _, _ := net.SplitHostPort(l.cfg.Upstream)
	if up := net.ParseIP(upHost); up != nil && (up.To4() == nil) != (ip.To4() == nil) {
		return d // an IPv4 source cannot reach an IPv6 upstream, nor the reverse
	}
	d.LocalAddr = &net.TCPAddr{IP: ip}
	return d
}
