package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/scenarios"
)

type runFlags struct {
	seed    int64
	report  string
	trace   int
	jsonOut bool
	quiet   bool
	area    []string
}

func newRunCommand() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run FILE|DIR...",
		Short: "Play scenarios and give a verdict",
		Long: `Play one or more scenario files (or every *.yaml below a directory): build the
world each describes, drive its load phases, apply its timeline of failures and
topology changes, and check its expectations.

Exit status: 0 when every expectation of every scenario holds (skipped
scenarios count as passing), 1 when one fails, 2 for a bad file or flag.`,
		Example: `  # the shipped demo: both drawings, a crash, a recovery and a server added under load
  proxylab run scenarios/demo --report demo-report

  # one scenario with another seed, printing the journeys of its first 3 requests
  proxylab run scenarios/library/reverse/failover.yaml --seed 42 --trace 3

  # the whole library, results as JSON
  proxylab run scenarios/library --json --quiet > results.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runScenarios(c, args, f) },
	}
	fl := c.Flags()
	fl.Int64Var(&f.seed, "seed", -1, "override every scenario's seed (default: the seed in each file)")
	fl.StringVar(&f.report, "report", "", "write report.html, results.json, junit.xml and events.jsonl into `DIR`")
	fl.IntVar(&f.trace, "trace", 0, "print the journeys of the first `N` requests of each scenario")
	fl.BoolVar(&f.jsonOut, "json", false, "print the results as JSON on stdout")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no per-check lines; only the verdict table")
	fl.StringSliceVar(&f.area, "area", nil, "only scenarios of these areas (forward, reverse, external, …)")
	return c
}

func runScenarios(c *cobra.Command, args []string, f runFlags) error {
	list, err := scenarios.LoadAll(args...)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	if len(f.area) > 0 {
		keep := list[:0]
		for _, sc := range list {
			for _, a := range f.area {
				if sc.Area == a {
					keep = append(keep, sc)
					break
				}
			}
		}
		list = keep
	}
	if len(list) == 0 {
		return usageErrorf("no scenarios found in %s", strings.Join(args, " "))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	var events io.Writer
	var eventFile *os.File
	if f.report != "" {
		if err := os.MkdirAll(f.report, 0o755); err != nil {
			return usageErrorf("report directory: %v", err)
		}
		eventFile, err = os.Create(filepath.Join(f.report, "events.jsonl"))
		if err != nil {
			return usageErrorf("report directory: %v", err)
		}
		defer eventFile.Close()
		events = eventFile
	}
	text := stdout
	if f.jsonOut {
		text = stderr
	}
	var results []*scenarios.Result
	for _, sc := range list {
		opts := scenarios.Options{Trace: f.trace, EventLog: events}
		if f.seed >= 0 {
			s := uint64(f.seed)
			opts.Seed = &s
		}
		var bars *loadBars
		switch {
		case f.quiet:
		case isTerminal(stderr):
			bars = newLoadBars(stderr)
			opts.Progress = prefixed{inner: bars, prefix: sc.Name}
		default:
			opts.Progress = phaseLines{w: stderr, prefix: sc.Name}
		}
		res, err := scenarios.Run(ctx, sc, opts)
		if bars != nil {
			bars.wait()
		}
		if err != nil {
			return &exitError{code: exitVerdict, msg: err.Error()}
		}
		results = append(results, res)
		if !f.quiet {
			_ = res.WriteText(text)
			writeJourneys(text, res)
		}
	}
	fmt.Fprintln(text)
	_ = scenarios.WriteTable(text, results)
	if f.jsonOut {
		if err := scenarios.WriteJSON(stdout, results); err != nil {
			return err
		}
	}
	if f.report != "" {
		if err := writeReports(f.report, results); err != nil {
			return &exitError{code: exitVerdict, msg: err.Error()}
		}
		fmt.Fprintf(text, "\nreport: %s\n", filepath.Join(f.report, "report.html"))
	}
	for _, r := range results {
		if !r.OK() {
			return &exitError{code: exitVerdict}
		}
	}
	return nil
}

// writeJourneys prints the run's drawing and the journeys traced with
// --trace, coloured on a terminal.
func writeJourneys(w io.Writer, res *scenarios.Result) {
	if len(res.Journeys) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, scenarios.Drawing(res))
	fmt.Fprintln(w)
	st := scenarios.TextStyle{Color: useColor(w)}
	for _, j := range res.Journeys {
		v := scenarios.JourneyView{Title: "request " + j.ID + " from " + j.Client, Hops: scenarios.JourneyHops(j, "proxy"), Error: j.Error}
		_ = scenarios.WriteJourneyView(w, v, st)
	}
}

func writeReports(dir string, results []*scenarios.Result) error {
	writers := map[string]func(io.Writer, []*scenarios.Result) error{
		"report.html":  scenarios.WriteHTML,
		"results.json": scenarios.WriteJSON,
		"junit.xml":    scenarios.WriteJUnit,
	}
	var errs []error
	for name, write := range writers {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, write(fh, results), fh.Close())
	}
	return errors.Join(errs...)
}

// prefixed names each phase after its scenario.
type prefixed struct {
	inner  loadgen.Progress
	prefix string
}

func (p prefixed) PhaseStarted(name string, d time.Duration) {
	p.inner.PhaseStarted(p.prefix+"/"+name, d)
}
func (p prefixed) Update(s loadgen.Snapshot) { p.inner.Update(s) }
func (p prefixed) PhaseDone(name string, st loadgen.Stats) {
	p.inner.PhaseDone(p.prefix+"/"+name, st)
}

// phaseLines reports progress as one line per phase where there is no terminal.
type phaseLines struct {
	w      io.Writer
	prefix string
}

func (p phaseLines) PhaseStarted(string, time.Duration) {}
func (p phaseLines) Update(loadgen.Snapshot)            {}
func (p phaseLines) PhaseDone(name string, st loadgen.Stats) {
	fmt.Fprintf(p.w, "%s/%s: %d requests, %.0f req/s, %d failed\n", p.prefix, name, st.Requests, st.Rate, st.Failures)
}

var (
	_ loadgen.Progress = prefixed{}
	_ loadgen.Progress = phaseLines{}
)
