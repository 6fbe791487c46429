package sim

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/proxylab/proxylab/loadgen"
)

// Event is one change to the world on a timeline: applied At from the start
// of the load, while it runs.
type Event struct {
	At    time.Duration
	Name  string
	Apply func(ctx context.Context, w *World) error
}

// EventRecord is one event as Play applied it; offsets count from the start
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

// Play is the one engine that runs load and a timeline together, for the
// scenario runner and for specs alike: it drives plan through d while
// applying events at their offsets on the same clock, and counts the
// ledger's windows from the same start. Events at the same offset apply in
// the order given; onEvent (optional) sees each record as soon as it is
// made. The records are returned in the order applied, with the report.
func (w *World) Play(ctx context.Context, plan loadgen.Plan, d loadgen.Doer, events []Event, onEvent func(EventRecord), opts ...loadgen.Option) (*loadgen.Report, []EventRecord, error) {
	order := append([]Event(nil), events...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].At < order[j].At })
	var (
		mu      sync.Mutex
		records []EventRecord
		wg      sync.WaitGroup
	)
	tlCtx, stopTimeline := context.WithCancel(ctx)
	t0 := time.Now()
	w.Ledger().SetStart(t0)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, e := range order {
			if wait := time.Until(t0.Add(e.At)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-tlCtx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			rec := EventRecord{Name: e.Name, At: e.At, Started: time.Since(t0)}
			rec.Err = e.Apply(tlCtx, w)
			rec.Done = time.Since(t0)
			mu.Lock()
			records = append(records, rec)
			mu.Unlock()
			if onEvent != nil {
				onEvent(rec)
			}
		}
	}()
	rep, err := loadgen.Run(ctx, plan, d, opts...)
	stopTimeline()
	wg.Wait()
	return rep, records, err
}
