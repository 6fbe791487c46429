package simtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
)

// DriveOption tunes Drive.
type DriveOption func(*driveConfig)

type timed struct {
	at time.Duration
	ev Event
}

type driveConfig struct {
	requests sim.RequestFunc
	load     []loadgen.Option
	events   []timed
	record   *[]EventRecord
}

// EventRecord is one event as Drive applied it; offsets count from the start
// of the load, like the ledger's windows.
type EventRecord struct {
	Name string
	// At is the offset the event was planned for.
	At time.Duration
	// Started and Done are the offsets when Apply began and returned: on a
	// busy machine Started may be later than At. A window that must follow
	// the change starts at Done.
	Started, Done time.Duration
	// Err is what Apply returned.
	Err error
}

// RecordEvents makes Drive append a record of every event it applied to dst.
func RecordEvents(dst *[]EventRecord) DriveOption {
	return func(c *driveConfig) { c.record = dst }
}

// WithRequests says what each load slot sends; nil (the default) means
// sim.World.DefaultRequests: GET / through the proxy.
func WithRequests(fn sim.RequestFunc) DriveOption {
	return func(c *driveConfig) { c.requests = fn }
}

// WithLoadOptions passes options to loadgen.Run (progress, series, …).
func WithLoadOptions(opts ...loadgen.Option) DriveOption {
	return func(c *driveConfig) { c.load = append(c.load, opts...) }
}

// At applies ev at offset from the start of the load, while it runs, as a
// scenario's timeline does. Events at the same offset apply in the order
// given. The offset must be within the plan's duration.
func At(offset time.Duration, ev Event) DriveOption {
	return func(c *driveConfig) { c.events = append(c.events, timed{at: offset, ev: ev}) }
}

// Drive runs plan against a started world through its clients (in turn), with
// every request in the world's ledger, applies the At events on their offsets,
// and returns loadgen's report. The ledger's windows count from the start of
// the load, so ReceiveNoTrafficBetween(from, to) and event offsets agree.
//
// Every phase must be bounded (loadgen requires a positive Duration); ctx
// ends the run early. The error joins the plan's problems and the events that
// could not be applied; the report is returned whenever the load ran.
func Drive(ctx context.Context, w *sim.World, plan loadgen.Plan, opts ...DriveOption) (*loadgen.Report, error) {
	var c driveConfig
	for _, o := range opts {
		o(&c)
	}
	if err := plan.Validate(); err != nil {
		return nil, fmt.Errorf("drive: %w", err)
	}
	if err := checkEvents(c.events, plan.Duration()); err != nil {
		return nil, fmt.Errorf("drive: %w", err)
	}
	sort.SliceStable(c.events, func(i, j int) bool { return c.events[i].at < c.events[j].at })

	tlCtx, stopTimeline := context.WithCancel(ctx)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		records []EventRecord
	)
	t0 := time.Now()
	w.Ledger().SetStart(t0)
	wg.Add(1)
	go func() {
		defer wg.Done()
		timer := time.NewTimer(0)
		defer timer.Stop()
		<-timer.C
		for _, e := range c.events {
			timer.Reset(time.Until(t0.Add(e.at)))
			select {
			case <-tlCtx.Done():
				return
			case <-timer.C:
			}
			rec := EventRecord{Name: e.ev.Name, At: e.at, Started: time.Since(t0)}
			rec.Err = e.ev.Apply(tlCtx, w)
			rec.Done = time.Since(t0)
			mu.Lock()
			records = append(records, rec)
			if rec.Err != nil {
				errs = append(errs, fmt.Errorf("event %s at %s: %w", e.ev.Name, e.at, rec.Err))
			}
			mu.Unlock()
		}
	}()
	rep, err := loadgen.Run(ctx, plan, w.Doer(c.requests), c.load...)
	stopTimeline()
	wg.Wait()
	if c.record != nil {
		*c.record = append(*c.record, records...)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("drive: %w", err))
	}
	return rep, errors.Join(errs...)
}

// checkEvents says which events could never be applied.
func checkEvents(events []timed, load time.Duration) error {
	var errs []error
	for _, e := range events {
		switch {
		case e.ev.Apply == nil:
			errs = append(errs, fmt.Errorf("event %q at %s has no Apply func", e.ev.Name, e.at))
		case e.at < 0 || e.at >= load:
			errs = append(errs, fmt.Errorf("event %s at %s is outside the load, which lasts %s (want 0 <= at < %s)", e.ev.Name, e.at, load, load))
		}
	}
	return errors.Join(errs...)
}
