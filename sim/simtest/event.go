package simtest

import (
	"context"
	"fmt"

	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/netfault"
	"github.com/proxylab/proxylab/sim/server"
)

// Event is one change to a world while load runs: the same changes a
// scenario's timeline makes, each a sim.World method. Build your own with
// any Apply func.
type Event struct {
	// Name says what the event does, as in errors: "crash server2".
	Name string
	// Apply makes the change.
	Apply func(ctx context.Context, w *sim.World) error
}

// Crash stops a server at once: its listener closes, open connections die.
func Crash(srv string) Event {
	return Event{Name: "crash " + srv, Apply: func(_ context.Context, w *sim.World) error { return w.Crash(srv) }}
}

// Recover restarts a crashed server on its address.
func Recover(srv string) Event {
	return Event{Name: "recover " + srv, Apply: func(_ context.Context, w *sim.World) error { return w.Recover(srv) }}
}

// AddServer adds and starts a server and tells the proxy.
func AddServer(cfg server.Config, weight int) Event {
	return Event{Name: "add " + cfg.Name, Apply: func(ctx context.Context, w *sim.World) error {
		_, err := w.AddServer(ctx, cfg, weight)
		return err
	}}
}

// RemoveServer takes a server out of the proxy's pool, then stops it gracefully.
func RemoveServer(srv string) Event {
	return Event{Name: "remove " + srv, Apply: func(ctx context.Context, w *sim.World) error { return w.RemoveServer(ctx, srv) }}
}

// Drain asks the proxy to send a server no new requests.
func Drain(srv string) Event {
	return Event{Name: "drain " + srv, Apply: func(ctx context.Context, w *sim.World) error { return w.DrainServer(ctx, srv) }}
}

// SetWeight changes a server's weight at the proxy.
func SetWeight(srv string, weight int) Event {
	return Event{Name: fmt.Sprintf("weight %s=%d", srv, weight), Apply: func(ctx context.Context, w *sim.World) error {
		return w.SetWeight(ctx, srv, weight)
	}}
}

// SetHealthy flips a server's /healthz answer.
func SetHealthy(srv string, ok bool) Event {
	return Event{Name: fmt.Sprintf("healthy %s=%t", srv, ok), Apply: func(_ context.Context, w *sim.World) error {
		return w.SetHealthy(srv, ok)
	}}
}

// SetBehaviour changes what a server does with requests from now on.
func SetBehaviour(srv string, b server.Behaviour) Event {
	return Event{Name: "behaviour " + srv, Apply: func(_ context.Context, w *sim.World) error { return w.SetBehaviour(srv, b) }}
}

// Partition cuts a link until Heal.
func Partition(link string) Event {
	return Event{Name: "partition " + link, Apply: func(_ context.Context, w *sim.World) error { return w.Partition(link) }}
}

// Heal restores a partitioned link.
func Heal(link string) Event {
	return Event{Name: "heal " + link, Apply: func(_ context.Context, w *sim.World) error { return w.Heal(link) }}
}

// AddToxic adds a toxic to a link while traffic flows.
func AddToxic(link string, t netfault.Toxic) Event {
	return Event{Name: "toxic " + link + "/" + t.Name, Apply: func(_ context.Context, w *sim.World) error {
		l, ok := w.Link(link)
		if !ok {
			return fmt.Errorf("no link named %s", link)
		}
		return l.AddToxic(t)
	}}
}

// RemoveToxic takes a toxic off a link.
func RemoveToxic(link, toxic string) Event {
	return Event{Name: "untoxic " + link + "/" + toxic, Apply: func(_ context.Context, w *sim.World) error {
		l, ok := w.Link(link)
		if !ok {
			return fmt.Errorf("no link named %s", link)
		}
		return l.RemoveToxic(toxic)
	}}
}

// Reconfigure hands the proxy a YAML patch of its configuration.
func Reconfigure(patch string) Event {
	return Event{Name: "reconfigure", Apply: func(ctx context.Context, w *sim.World) error {
		return w.Reconfigure(ctx, []byte(patch))
	}}
}
