package simtest

import (
	"context"
	"errors"
	"fmt"
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

// EventRecord is one event as Drive applied it (see sim.EventRecord).
type EventRecord = sim.EventRecord

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
	events := make([]sim.Event, len(c.events))
	for i, e := range c.events {
		events[i] = sim.Event{At: e.at, Name: e.ev.Name, Apply: e.ev.Apply}
	}
	rep, records, err := w.Play(ctx, plan, w.Doer(c.requests), events, nil, c.load...)
	if c.record != nil {
		*c.record = append(*c.record, records...)
	}
	var errs []error
	for _, rec := range records {
		if rec.Err != nil {
			errs = append(errs, fmt.Errorf("event %s at %s: %w", rec.Name, rec.At, rec.Err))
		}
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
