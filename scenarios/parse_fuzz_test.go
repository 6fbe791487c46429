package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxylab/proxylab/scenarios"
)

// FuzzParse feeds the scenario loader any bytes: it must never panic, and
// whatever it refuses it refuses with Problems that name the file and, for
// anything inside the file, the line and column.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"library/reverse", "library/forward", "demo", "failing"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files[:min(len(files), 6)] {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"", "---\n---\n", "name: x\n", "[1, 2]", "name: [", "proxy: {mode: forward}\nservers: [{name: s1..0}]\n",
		"load: [{phase: p, duration: -1s, rate: 0/s}]\n", "events: [{at: 1s, crash: nobody}]\n",
		"expect: ['ledger.failed =='']\n", "servers: [{name: s, latency: normal(,)}]\n", "\t- x", "a: &a [*a]\n",
		"proxy: {mode: external, program: x, command: [\"{{.Nope}}\"]}\n", "servers: [{name: server1..99999999}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		var (
			sc  *scenarios.Scenario
			err error
		)
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc, err = scenarios.Parse(name, data)
		}()
		select {
		case <-done:
		case <-time.After(parseBound):
			t.Fatalf("Parse took over %v on %q", parseBound, data)
		}
		if err == nil {
			if sc == nil {
				t.Fatal("no scenario and no error")
			}
			return
		}
		if sc != nil {
			t.Fatalf("a scenario and an error: %v", err)
		}
		var ps scenarios.Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is not a list of positioned problems: %T %v", err, err)
		}
		for _, p := range ps {
			if p.File != name {
				t.Fatalf("problem names file %q, want %q: %v", p.File, name, p)
			}
			if p.Msg == "" {
				t.Fatalf("problem without a message at %v", p.Pos)
			}
			if p.Pos.Line == 0 && !wholeFile(p.Msg) {
				t.Fatalf("problem without a position: %v", p)
			}
			if p.Pos.Line < 0 || p.Pos.Col < 0 {
				t.Fatalf("negative position: %v", p)
			}
			if !strings.HasPrefix(p.Error(), name+":") {
				t.Fatalf("problem does not start with the file name: %q", p.Error())
			}
		}
	})
}

// parseBound is far more than any file needs; a parse that takes longer is
// a hang (or an expansion the loader should have refused).
const parseBound = 5 * time.Second

// wholeFile reports whether a problem is about the file as a whole (it is
// empty), the one kind that has no line to point at.
func wholeFile(msg string) bool {
	return strings.Contains(msg, "the file is empty")
}
