package simtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	gtypes "github.com/onsi/ginkgo/v2/types"

	"github.com/proxylab/proxylab/scenarios"
)

// ScenarioGrace is added to a scenario's own duration to make its spec's
// timeout: time to build, start and stop the world.
const ScenarioGrace = time.Minute

// Case is one scenario file as a table entry: the scenario, or why it did
// not load.
type Case struct {
	File     string
	Scenario *scenarios.Scenario
	// Err says why the file did not load; RunCase fails the spec with it.
	Err error
}

// HavePassed succeeds when a *scenarios.Result's verdict is passed. The
// failure names the scenario and its seed, lists every failing check with
// its observed value (or error), and the ledger's counts; for a run that
// could not be played (verdict error or skipped), it gives the reason.
func HavePassed() types.GomegaMatcher {
	return &matcher{want: "have passed", match: func(actual any) (verdict, error) {
		res, ok := actual.(*scenarios.Result)
		if !ok || res == nil {
			return verdict{}, fmt.Errorf("HavePassed expects a non-nil *scenarios.Result, got %T", actual)
		}
		v := verdict{ok: res.Verdict == scenarios.Passed, subject: fmt.Sprintf("scenario %s (%s, seed %d)", res.Name, res.File, res.Seed)}
		v.observed = resultText(res)
		return v, nil
	}}
}

// resultText says what a run found, for a failure message.
func resultText(res *scenarios.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s", res.Verdict)
	if res.Reason != "" {
		fmt.Fprintf(&b, ": %s", res.Reason)
	}
	for _, c := range res.Checks {
		mark := "✓"
		if !c.Pass {
			mark = "✗"
		}
		fmt.Fprintf(&b, "\n  %s %s", mark, c.Expr)
		if c.Observed != "" {
			fmt.Fprintf(&b, "  (observed %s)", c.Observed)
		}
		if c.Error != "" {
			fmt.Fprintf(&b, "  error: %s", c.Error)
		}
	}
	l := res.Ledger
	if l.Sent > 0 {
		fmt.Fprintf(&b, "\n  ledger: sent %d, succeeded %d, lost %d, duplicated %d (unsafe %d), misrouted %d",
			l.Sent, l.Succeeded, l.Lost, l.Duplicated, l.DuplicatedUnsafe, l.Misrouted)
	}
	return b.String()
}

// ExpectScenario plays sc with scenarios.Run (the runner of `proxylab run`)
// inside a spec: a scenario whose program is missing is skipped with the
// reason, one that fails or cannot be played fails the spec with every
// failing check and its observed value. The run's text report is attached to
// the spec's report. It returns the result for further assertions.
func ExpectScenario(ctx context.Context, sc *scenarios.Scenario, opts scenarios.Options) *scenarios.Result {
	ginkgo.GinkgoHelper()
	res, err := scenarios.Run(ctx, sc, opts)
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), "run scenario %s", sc.Name)
	var text bytes.Buffer
	if res.WriteText(&text) == nil {
		ginkgo.AddReportEntry("scenario "+sc.Name, text.String(), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	if res.Verdict == scenarios.Skipped {
		ginkgo.Skip(fmt.Sprintf("scenario %s skipped: %s", sc.Name, res.Reason))
	}
	gomega.Expect(res).To(HavePassed())
	return res
}

// RunCase is the body of a DescribeTable over ScenarioEntries:
//
//	DescribeTable("library", simtest.RunCase, simtest.ScenarioEntries("scenarios/library")...)
func RunCase(ctx ginkgo.SpecContext, c Case) {
	ginkgo.GinkgoHelper()
	gomega.Expect(c.Err).NotTo(gomega.HaveOccurred(), "load %s", c.File)
	ExpectScenario(ctx, c.Scenario, scenarios.Options{})
}

// ScenarioEntries makes one DescribeTable entry per scenario file under the
// paths (files, or directories searched for *.yaml and *.yml; relative
// paths are relative to the test's package directory). Each entry is named
// after its scenario, labelled with its area (Ginkgo Label, so
// `ginkgo --label-filter=reverse` picks them) and given a SpecTimeout of its
// duration plus ScenarioGrace. A file that does not load, or a path with no
// scenario file, still makes an entry, which fails saying why.
func ScenarioEntries(paths ...string) []ginkgo.TableEntry {
	at := gtypes.NewCodeLocation(1) // failures point at the caller's line
	var out []ginkgo.TableEntry
	for _, c := range loadCases(paths) {
		out = append(out, ginkgo.Entry(caseName(c), append(caseDecorations(c), at, c)...))
	}
	return out
}

// DescribeScenarios adds a container with one It per scenario file under the
// paths, named, labelled and timed as ScenarioEntries does, each played by
// RunCase. Call it at the top level of a suite file:
//
//	var _ = simtest.DescribeScenarios("testdata/scenarios")
func DescribeScenarios(paths ...string) bool {
	at := gtypes.NewCodeLocation(1) // failures point at the caller's line
	return ginkgo.Describe("scenarios in "+strings.Join(paths, ", "), at, func() {
		for _, c := range loadCases(paths) {
			args := []any{at, func(ctx ginkgo.SpecContext) { RunCase(ctx, c) }}
			ginkgo.It("should pass "+caseName(c), append(args, caseDecorations(c)...)...)
		}
	})
}

func caseName(c Case) string {
	if c.Scenario != nil {
		return c.Scenario.Name
	}
	return c.File
}

func caseDecorations(c Case) []any {
	if c.Scenario == nil {
		return nil
	}
	var out []any
	if area := labelOf(c.Scenario.Area); area != "" {
		out = append(out, ginkgo.Label(area))
	}
	return append(out, ginkgo.SpecTimeout(c.Scenario.Duration()+ScenarioGrace))
}

// labelOf makes an area a valid Ginkgo label (no &|!,()/ and no spaces at the ends).
func labelOf(area string) string {
	area = strings.TrimSpace(area)
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("&|!,()/{}[]:", r) {
			return '-'
		}
		return r
	}, area)
}

// loadCases loads every scenario file under paths, each on its own.
func loadCases(paths []string) []Case {
	var out []Case
	for _, p := range paths {
		files, err := scenarioFiles(p)
		if err == nil && len(files) == 0 {
			err = errors.New("no scenario files (*.yaml, *.yml) there")
		}
		if err != nil {
			out = append(out, Case{File: p, Err: fmt.Errorf("scenarios at %s: %w", p, err)})
			continue
		}
		for _, f := range files {
			sc, err := scenarios.Load(f)
			out = append(out, Case{File: f, Scenario: sc, Err: err})
		}
	}
	return out
}

func scenarioFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
			files = append(files, f)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}
