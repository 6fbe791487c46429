package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
)

// DefaultMaxInFlight caps an open-loop phase's concurrency when it sets none.
const DefaultMaxInFlight = 1000

// Options tune a run.
type Options struct {
	// Seed overrides the scenario's seed when not nil.
	Seed *uint64
	// Progress receives live load figures (the CLI draws bars from them); nil means none.
	Progress loadgen.Progress
	// EventLog receives the run's event log as JSON lines; nil means none.
	EventLog io.Writer
	// Trace keeps the journeys of the first N requests.
	Trace int
	// Observe, when set, is called with the started world before load begins
	// (tests and the teaching view use it).
	Observe func(*sim.World)
}

// Run plays a scenario and evaluates its expectations. A run that cannot be
// played (a program missing, the world failing to start) returns a Result with
// verdict skipped or error, not a Go error; the error return is for a
// cancelled context only.
func Run(ctx context.Context, sc *Scenario, opts Options) (*Result, error) {
	seed := sc.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	res := &Result{
		Name: sc.Name, File: sc.File, Area: sc.Area, About: sc.About, Mode: sc.Proxy.Mode,
		Seed: seed, Started: time.Now(), Clients: sc.ClientNames(),
	}
	defer func() { res.Elapsed = time.Since(res.Started) }()
	logEvent := eventLogger(opts.EventLog)

	var extOut bytes.Buffer
	w, err := buildWorld(ctx, sc, seed, &extOut)
	if err != nil {
		return res.broken(err), nil
	}
	if err := w.Start(ctx); err != nil {
		_ = w.Stop(context.Background())
		return res.broken(fmt.Errorf("start the world: %w", err)), nil
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(stopCtx)
	}()
	if opts.Observe != nil {
		opts.Observe(w)
	}
	logEvent(map[string]any{"event": "started", "seed": seed, "proxy": proxyAddr(w)})

	tr := newTracer(opts.Trace, sc.Proxy.Mode == ModeForward || (sc.Proxy.External != nil && sc.Proxy.External.As == ModeForward))
	d := newDoer(w, sc, seed, tr)
	tl := &timeline{world: w, doer: d}

	plan := loadgen.Plan{}
	for i, p := range sc.Load {
		ph := loadgen.Phase{Name: p.Phase, Duration: p.Duration.D(), Think: p.Think.D(), MaxInFlight: p.MaxInFlight}
		if p.Connections > 0 {
			ph.Connections = p.Connections
		} else {
			ph.Pacer = p.Rate.Pacer(p.Duration.D(), w.Seed(fmt.Sprintf("phase/%d", i)))
			if ph.MaxInFlight == 0 {
				ph.MaxInFlight = DefaultMaxInFlight
			}
		}
		plan.Phases = append(plan.Phases, ph)
	}
	var lopts []loadgen.Option
	if opts.Progress != nil {
		lopts = append(lopts, loadgen.WithProgress(opts.Progress))
	}
	report, played, err := w.Play(ctx, plan, d, tl.events(sc.Events), func(r sim.EventRecord) { logEvent(record(r)) }, lopts...)
	if err != nil {
		if ctx.Err() != nil {
			return res.broken(ctx.Err()), ctx.Err()
		}
		return res.broken(fmt.Errorf("load: %w", err)), nil
	}
	for _, r := range played {
		res.Events = append(res.Events, record(r))
	}
	res.Load = report
	res.Ledger = w.Ledger().Summary()
	res.Journeys = tr.finish(w)
	res.Servers = serverFigures(w, sc)
	for name, ends := range w.LinkNames() {
		res.Links = append(res.Links, LinkFigures{Name: name, From: ends[0], To: ends[1]})
	}
	sort.Slice(res.Links, func(i, j int) bool { return res.Links[i].Name < res.Links[j].Name })

	env := newEnv(w, sc, report, res.Events)
	res.Checks = evaluate(sc.Expect, env)
	for _, e := range res.Events {
		if e.Error != "" {
			res.Checks = append(res.Checks, Check{Expr: fmt.Sprintf("event at %s: %s", e.At, e.What), Error: e.Error})
		}
	}
	res.Verdict = Passed
	for _, c := range res.Checks {
		if !c.Pass {
			res.Verdict = Failed
		}
	}
	logEvent(map[string]any{"event": "finished", "verdict": res.Verdict})
	return res, nil
}

func (r *Result) broken(err error) *Result {
	var skip *SkipError
	if errors.As(err, &skip) {
		r.Verdict, r.Reason = Skipped, skip.Reason
		return r
	}
	r.Verdict, r.Reason = Broken, err.Error()
	return r
}

func proxyAddr(w *sim.World) string {
	if p := w.Proxy(); p != nil {
		return p.Addr()
	}
	return ""
}

func serverFigures(w *sim.World, sc *Scenario) []ServerFigures {
	counts := w.Ledger().Counts(0, 0)
	weights := serverWeights(sc)
	var out []ServerFigures
	for _, n := range w.ServerNames() {
		out = append(out, ServerFigures{Name: n, Requests: counts[n], Weight: weights[n]})
	}
	return out
}

// serverWeights returns every server's configured weight (0 counts as 1).
func serverWeights(sc *Scenario) map[string]int {
	out := map[string]int{}
	for _, s := range sc.Servers {
		out[s.Name] = max(s.Weight, 1)
	}
	for _, e := range sc.Events {
		if e.Add != nil {
			out[e.Add.Name] = max(e.Add.Weight, 1)
		}
	}
	return out
}

// eventLogger writes JSON lines with a time stamp; safe for concurrent use.
func eventLogger(w io.Writer) func(v any) {
	if w == nil {
		return func(any) {}
	}
	var mu sync.Mutex
	start := time.Now()
	return func(v any) {
		line := map[string]any{"t_s": time.Since(start).Seconds()}
		b, _ := json.Marshal(v)
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			for k, x := range m {
				line[k] = x
			}
		}
		out, _ := json.Marshal(line)
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(append(out, '\n'))
	}
}
