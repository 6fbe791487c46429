package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/proxylab/proxylab/sim"
)

// EventRecord is what happened when the timeline applied an event.
type EventRecord struct {
	At      time.Duration `json:"at_ns"`      // planned offset
	Applied time.Duration `json:"applied_ns"` // actual offset
	What    string        `json:"what"`
	Error   string        `json:"error,omitempty"`
}

// timeline turns a scenario's events into the world's timeline (sim.Event),
// played by sim.World.Play on the load's clock.
type timeline struct {
	world *sim.World
	doer  *doer
}

// events returns the scenario's events as sim events, in file order.
func (tl *timeline) events(specs []EventSpec) []sim.Event {
	out := make([]sim.Event, len(specs))
	for i, e := range specs {
		out[i] = sim.Event{At: e.At.D(), Name: e.Describe(), Apply: func(ctx context.Context, _ *sim.World) error {
			return tl.apply(ctx, e)
		}}
	}
	return out
}

// record turns a sim record into the result's.
func record(r sim.EventRecord) EventRecord {
	rec := EventRecord{At: r.At, Applied: r.Done, What: r.Name} // once the change is in place
	if r.Err != nil {
		rec.Error = r.Err.Error()
	}
	return rec
}

func (tl *timeline) apply(ctx context.Context, e EventSpec) error {
	w := tl.world
	switch {
	case e.Crash != "":
		return w.Crash(e.Crash)
	case e.Recover != "":
		return w.Recover(e.Recover)
	case e.Add != nil:
		if err := addServer(ctx, w, *e.Add); err != nil {
			return err
		}
		tl.doer.serverAdded(e.Add.Name)
		return nil
	case e.Remove != "":
		tl.doer.serverRemoved(e.Remove)
		return w.RemoveServer(ctx, e.Remove)
	case e.Drain != "":
		return w.DrainServer(ctx, e.Drain)
	case e.Partition != "":
		return w.Partition(e.Partition)
	case e.Heal != "":
		return w.Heal(e.Heal)
	case e.Toxic != nil:
		l, ok := w.Link(e.Toxic.Link)
		if !ok {
			return fmt.Errorf("no link %s", e.Toxic.Link)
		}
		return l.AddToxic(e.Toxic.Toxic)
	case e.Untoxic != nil:
		l, ok := w.Link(e.Untoxic.Link)
		if !ok {
			return fmt.Errorf("no link %s", e.Untoxic.Link)
		}
		return l.RemoveToxic(e.Untoxic.Name)
	case e.Behaviour != nil:
		return w.SetBehaviour(e.Behaviour.Server, e.Behaviour.Behaviour.Clone())
	case e.Healthy != "":
		return w.SetHealthy(e.Healthy, true)
	case e.Unhealthy != "":
		return w.SetHealthy(e.Unhealthy, false)
	case e.Weight != nil:
		return w.SetWeight(ctx, e.Weight.Server, e.Weight.Weight)
	case e.Reconfigure != nil:
		patch, err := yaml.Marshal(e.Reconfigure)
		if err != nil {
			return err
		}
		return w.Reconfigure(ctx, patch)
	}
	return fmt.Errorf("event has no action")
}
