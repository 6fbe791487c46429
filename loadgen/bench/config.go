package bench

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Defaults applied by Config.normalized to zero fields.
const (
	DefaultDuration    = 5 * time.Second
	DefaultWarmup      = 2 * time.Second
	DefaultConnections = 64
	DefaultReps        = 3
	DefaultHost        = "127.0.0.1"
	// DefaultRateShare is the share of the slowest target's median closed-loop
	// req/s used as the open-loop rate when Config.Rate is 0 (latency is never
	// measured at maximum load).
	DefaultRateShare = 0.5
)

// Built-in target names.
const (
	Direct  = "direct"  // the load generator straight to the backend
	Reverse = "reverse" // `proxylab proxy reverse`
	Forward = "forward" // `proxylab proxy forward`, absolute-form requests
)

// Backend names.
const (
	BackendSim   = "sim"   // sim/server with no knobs, in this process
	BackendNginx = "nginx" // nginx `return 200`, a child process
)

// Config is one benchmark run. Zero values mean the defaults named on each
// field.
type Config struct {
	// Duration of each measured closed-loop and open-loop run of one target in
	// one repetition; 0 means DefaultDuration.
	Duration time.Duration
	// Warmup is run once per target before the first repetition and
	// discarded; 0 means DefaultWarmup, a negative value means none.
	Warmup time.Duration
	// Connections of the closed loop, and the most requests in flight of the
	// open loop; 0 means DefaultConnections.
	Connections int
	// Reps is the number of interleaved repetitions (A B C A B C …); 0 means
	// DefaultReps.
	Reps int
	// Rate is the open-loop rate in requests per second for the added-latency
	// figures; 0 means DefaultRateShare of the slowest target's median
	// closed-loop req/s, a negative value skips the open loop.
	Rate float64
	// Body is the backend's response body in bytes; 0 means an empty body.
	Body int64
	// Builtins are the built-in proxies to measure (Reverse, Forward); nil
	// means both, an empty non-nil slice none. Direct is always measured.
	Builtins []string
	// Peers are external proxies to start beside them, by name (see Peers());
	// nil means none. A peer that is not installed is skipped with a message.
	Peers []string
	// Targets are URLs already running. "http://HOST:PORT/path" gets requests
	// like a reverse proxy; "proxy+http://HOST:PORT" is used as a forward
	// proxy to the backend. nil means none.
	Targets []string
	// Backend is BackendSim or BackendNginx; "" means BackendSim.
	Backend string
	// BackendAddr is where the backend listens; "" means DefaultHost port 0
	// (give a fixed address to point an already running --target at it).
	BackendAddr string
	// NoPin turns CPU pinning off; false pins when there are two cores or more.
	NoPin bool
	// IdleConns is the number of idle keep-alive client connections held
	// through each proxy for the memory figure; 0 skips it.
	IdleConns int
	// NoTunnel skips the CONNECT throughput figure; false measures it for
	// every forward proxy and direct.
	NoTunnel bool
	// TunnelStreams is the number of bulk streams sent at once for the
	// CONNECT figure; 0 means 1.
	TunnelStreams int
	// Proxylab is the proxylab executable that runs the built-in proxies as
	// children; "" means this process's own executable.
	Proxylab string
	// Host is the loopback address the proxies listen on; "" means DefaultHost.
	Host string
}

// normalized applies the defaults, in this one place.
func (c Config) normalized() Config {
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Connections == 0 {
		c.Connections = DefaultConnections
	}
	if c.Reps == 0 {
		c.Reps = DefaultReps
	}
	if c.TunnelStreams == 0 {
		c.TunnelStreams = 1
	}
	if c.Builtins == nil {
		c.Builtins = []string{Reverse, Forward}
	}
	if c.Backend == "" {
		c.Backend = BackendSim
	}
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.BackendAddr == "" {
		c.BackendAddr = net.JoinHostPort(c.Host, "0")
	}
	return c
}

// Validate returns every problem of the configuration, joined, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Duration < 0 {
		bad("duration %s: want a positive duration such as 5s", c.Duration)
	}
	if c.Connections < 0 {
		bad("connections %d: want a positive number", c.Connections)
	}
	if c.Reps < 0 {
		bad("reps %d: want a positive number of repetitions", c.Reps)
	}
	if c.Body < 0 {
		bad("body %d: want a size ≥ 0 in bytes", c.Body)
	}
	if c.TunnelStreams < 0 || c.TunnelStreams > 256 {
		bad("tunnel streams %d: want 1 to 256 (0 means 1)", c.TunnelStreams)
	}
	if c.IdleConns < 0 {
		bad("idle conns %d: want a number ≥ 0", c.IdleConns)
	}
	for _, b := range c.Builtins {
		if b != Reverse && b != Forward {
			bad("built-in %q: want %q or %q", b, Reverse, Forward)
		}
	}
	seen := map[string]bool{}
	for _, p := range c.Peers {
		if _, ok := lookupPeer(p); !ok {
			bad("peer %q: want one of %s", p, strings.Join(Peers(), ", "))
		}
		if seen[p] {
			bad("peer %q given twice", p)
		}
		seen[p] = true
	}
	for _, t := range c.Targets {
		if _, err := parseTarget(t); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Backend != "" && c.Backend != BackendSim && c.Backend != BackendNginx {
		bad("backend %q: want %q or %q", c.Backend, BackendSim, BackendNginx)
	}
	if c.BackendAddr != "" {
		if err := loopbackAddr(c.BackendAddr); err != nil {
			bad("backend address %q: %v", c.BackendAddr, err)
		}
	}
	if c.Host != "" {
		if ip := net.ParseIP(c.Host); ip == nil || !ip.IsLoopback() {
			bad("host %q: want a loopback address such as 127.0.0.1", c.Host)
		}
	}
	return errors.Join(errs...)
}

// loopbackAddr checks that addr is HOST:PORT on loopback.
func loopbackAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("want a loopback address such as 127.0.0.1:0")
	}
	if port == "" {
		return errors.New("want a port (0 picks one)")
	}
	return nil
}

// builtin reports whether the run measures the named built-in proxy.
func (c Config) builtin(name string) bool { return slices.Contains(c.Builtins, name) }
