package scenarios

import (
	"time"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
)

// Verdicts of a run.
const (
	Passed  = "passed"
	Failed  = "failed"
	Skipped = "skipped"
	Broken  = "error" // the run could not be played (the world did not start, …)
)

// Result is the outcome of one scenario run.
type Result struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	Area    string `json:"area"`
	About   string `json:"about,omitempty"`
	Mode    string `json:"mode"`
	Seed    uint64 `json:"seed"`
	Verdict string `json:"verdict"`
	// Reason says why a run was skipped or broken.
	Reason   string          `json:"reason,omitempty"`
	Started  time.Time       `json:"started"`
	Elapsed  time.Duration   `json:"elapsed_ns"`
	Checks   []Check         `json:"checks"`
	Events   []EventRecord   `json:"events"`
	Ledger   sim.Summary     `json:"ledger"`
	Servers  []ServerFigures `json:"servers"`
	Clients  []string        `json:"clients"`
	Links    []LinkFigures   `json:"links,omitempty"`
	Load     *loadgen.Report `json:"load,omitempty"`
	Journeys []Journey       `json:"journeys,omitempty"`
}

// ServerFigures are one server's counts in a run.
type ServerFigures struct {
	Name     string `json:"name"`
	Requests int    `json:"requests"`
	Weight   int    `json:"weight"`
}

// LinkFigures name a link and its ends.
type LinkFigures struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// OK reports whether the run passed or was skipped.
func (r *Result) OK() bool { return r.Verdict == Passed || r.Verdict == Skipped }

// Failures returns the checks that did not hold.
func (r *Result) Failures() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}
