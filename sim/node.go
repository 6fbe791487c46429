package sim

import (
	"context"
)

// Mode says which drawing a proxy belongs to.
type Mode string

// The two drawings.
const (
	Forward Mode = "forward" // the clients' side knows the proxy
	Reverse Mode = "reverse" // the servers' side owns the proxy
)

// Upstream is a server as a proxy must reach it.
type Upstream struct {
	Name   string
	Addr   string // host:port to dial (a link's address when a link sits in between)
	Weight int
	// TLS is true for a server that speaks HTTPS.
	TLS bool
}

// Topology is what a proxy is told about the world when it starts.
type Topology struct {
	// Host is the loopback address the proxy should listen on.
	Host string
	// Servers in the order they were added.
	Servers []Upstream
}

// Proxy is the proxy node of a world: built in or an external program.
type Proxy interface {
	// Mode tells which drawing the proxy belongs to.
	Mode() Mode
	// Start starts the proxy for the given topology; it returns once it accepts connections.
	Start(ctx context.Context, topo Topology) error
	// Addr is the host:port clients connect to.
	Addr() string
	// Stop stops the proxy; it is idempotent.
	Stop(ctx context.Context) error
}

// PoolChanger is a proxy that can change its servers at run time.
type PoolChanger interface {
	AddServer(ctx context.Context, u Upstream) error
	RemoveServer(ctx context.Context, name string) error
	DrainServer(ctx context.Context, name string) error
	SetWeight(ctx context.Context, name string, weight int) error
}

// Reconfigurer is a proxy that can take a new configuration at run time: the
// built-in proxies swap it atomically, an external one reloads. patch is a
// YAML document laid over the current configuration.
type Reconfigurer interface {
	Reconfigure(ctx context.Context, patch []byte, topo Topology) error
}
