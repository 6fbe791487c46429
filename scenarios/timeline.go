package scenarios

import (
	"context"
	"fmt"
	"sort"
	"sync"
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

// timeline applies a scenario's events at their offsets from t0.
type timeline struct {
	world *sim.World
	doer  *doer
	log   func(EventRecord)

	mu      sync.Mutex
	records []EventRecord
}

func (tl *timeline) run(ctx context.Context, t0 time.Time, events []EventSpec) {
	order := make([]EventSpec, len(events))
	copy(order, events)
	sort.SliceStable(order, func(i, j int) bool { return order[i].At < order[j].At })
	for _, e := range order {
		wait := time.Until(t0.Add(e.At.D()))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		rec := EventRecord{At: e.At.D(), What: e.Describe()}
		if err := tl.apply(ctx, e); err != nil {
			rec.Error = err.Error()
		}
		rec.Applied = time.Since(t0)
		tl.mu.Lock()
		tl.records = append(tl.records, rec)
		tl.mu.Unlock()
		if tl.log != nil {
			tl.log(rec)
		}
	}
}

func (tl *timeline) done() []EventRecord {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return append([]EventRecord(nil), tl.records...)
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
