package bench

import (
	"io"
	"os/exec"
	"time"
)

// Step tells where a run is; the CLI turns it into a progress bar.
type Step struct {
	Stage    string        // "warmup", "closed", "open", "tunnel", "idle"
	Target   string        // the target's name
	Rep      int           // 1-based repetition; 0 outside repetitions
	Duration time.Duration // how long the step should take; 0 when unknown
	Done     int           // steps finished before this one
	Total    int           // steps in the whole run (planned)
}

// Option tunes Run beyond its Config.
type Option func(*runOptions)

type runOptions struct {
	log      io.Writer
	progress func(Step)
	lookPath func(string) (string, error)
}

func defaultOptions() runOptions {
	return runOptions{log: io.Discard, progress: func(Step) {}, lookPath: exec.LookPath}
}

// WithLog writes one line per notable event (a target started, a peer
// skipped and how to install it) to w; the default discards them.
func WithLog(w io.Writer) Option {
	return func(o *runOptions) {
		if w != nil {
			o.log = w
		}
	}
}

// WithProgress calls fn when each step starts, on Run's goroutine.
func WithProgress(fn func(Step)) Option {
	return func(o *runOptions) {
		if fn != nil {
			o.progress = fn
		}
	}
}

// WithLookPath finds peer programs with fn instead of exec.LookPath (tests
// use it to pretend a peer is not installed).
func WithLookPath(fn func(string) (string, error)) Option {
	return func(o *runOptions) {
		if fn != nil {
			o.lookPath = fn
		}
	}
}
