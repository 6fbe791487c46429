package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ReportSchema names the JSON schema of Report; it changes only when a field
// changes meaning or goes away (new fields may be added).
const ReportSchema = "proxylab.loadgen/v1"

// Report is the outcome of Run. Its JSON form (snake_case keys, durations as
// integer nanoseconds in fields ending in _ns, rates in hits per second) is a
// stable schema named by Schema:
//
//	{
//	  "schema": "proxylab.loadgen/v1",
//	  "start": "2026-11-26T05:00:00Z",   // RFC 3339
//	  "duration_ns": 5000000000,          // sum of the phases, less if the run was cut short
//	  "overall": Stats,                   // all phases together
//	  "phases": [PhaseReport, …],         // in plan order
//	  "series": [Point, …]                // one per interval
//	}
//
//	PhaseReport: name, mode ("open"|"closed"), connections, max_in_flight,
//	  offset_s, stats (Stats), by_client / by_server / by_status ({tag: Stats})
//	Stats: duration_ns, planned, sent, late, unsent, requests, successes,
//	  failures, errors ({kind: count}), bytes, asked_rate, achieved_rate,
//	  latency_corrected and latency_raw (Latency)
//	Latency: count, min_ns, mean_ns, p50_ns, p90_ns, p99_ns, p99_9_ns,
//	  p99_99_ns, max_ns
//	Point: t_s, phase, requests, rps, failures, p50_ns, p99_ns (corrected),
//	  servers ({server: {requests, rps, failures, p50_ns, p99_ns}})
//
// Keys with omitempty vanish when zero or empty.
type Report struct {
	Schema   string        `json:"schema"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Overall  Stats         `json:"overall"`
	Phases   []PhaseReport `json:"phases"`
	Series   []Point       `json:"series"`
}

// PhaseReport is one phase's figures, overall and by tag.
type PhaseReport struct {
	Name        string  `json:"name"`
	Mode        string  `json:"mode"`                  // "open" or "closed"
	Connections int     `json:"connections,omitempty"` // closed loop
	MaxInFlight int     `json:"max_in_flight,omitempty"`
	Stats       Stats   `json:"stats"`
	ByClient    TagMap  `json:"by_client,omitempty"`
	ByServer    TagMap  `json:"by_server,omitempty"`
	ByStatus    TagMap  `json:"by_status,omitempty"` // "2xx" … "5xx", "error"
	Offset      float64 `json:"offset_s"`            // start, seconds after Report.Start
}

// TagMap holds Stats per tag value.
type TagMap map[string]Stats

// Stats are the figures of a set of requests (a phase, a tag, or all).
//
// Planned, Sent, Late and Unsent are schedule figures, kept for phases and
// overall only. For open loop, Planned = Sent + Unsent: every slot due before
// the phase stopped. Closed loop plans nothing, so Planned = Sent = Requests.
type Stats struct {
	Duration  time.Duration    `json:"duration_ns"` // how long it sent: the planned duration unless cut short
	Planned   uint64           `json:"planned,omitempty"`
	Sent      uint64           `json:"sent,omitempty"`
	Late      uint64           `json:"late,omitempty"`   // sent after waiting for a free worker (MaxInFlight)
	Unsent    uint64           `json:"unsent,omitempty"` // due but never sent before the phase stopped
	Requests  int64            `json:"requests"`         // completed (a result recorded)
	Successes int64            `json:"successes"`
	Failures  int64            `json:"failures"`
	Errors    map[string]int64 `json:"errors,omitempty"` // by error kind
	Bytes     int64            `json:"bytes"`
	AskedRate float64          `json:"asked_rate"`    // planned / duration; 0 for closed loop
	Rate      float64          `json:"achieved_rate"` // sent / duration
	Corrected Latency          `json:"latency_corrected"`
	Raw       Latency          `json:"latency_raw"`
}

// Missed is Late + Unsent: the slots that did not go out on time.
func (s Stats) Missed() uint64 { return s.Late + s.Unsent }

// SuccessRate is Successes / Requests (1 when there were none).
func (s Stats) SuccessRate() float64 {
	if s.Requests == 0 {
		return 1
	}
	return float64(s.Successes) / float64(s.Requests)
}

// Latency is a latency distribution's summary (from an HdrHistogram: values
// are exact to 3 significant digits).
type Latency struct {
	Count int64         `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p99_9_ns"`
	P9999 time.Duration `json:"p99_99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Point is one interval of the time series.
type Point struct {
	Offset   float64                `json:"t_s"` // end of the interval, seconds after Report.Start
	Phase    string                 `json:"phase"`
	Requests int64                  `json:"requests"`
	RPS      float64                `json:"rps"`
	Failures int64                  `json:"failures"`
	P50      time.Duration          `json:"p50_ns"` // corrected
	P99      time.Duration          `json:"p99_ns"` // corrected
	Servers  map[string]ServerPoint `json:"servers,omitempty"`
}

// ServerPoint is one server's share of a Point.
type ServerPoint struct {
	Requests int64         `json:"requests"`
	RPS      float64       `json:"rps"`
	Failures int64         `json:"failures"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
}

// Phase returns the named phase's report, or false.
func (r *Report) Phase(name string) (PhaseReport, bool) {
	for _, p := range r.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return PhaseReport{}, false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report json: %w", err)
	}
	return nil
}

// ReadReport reads a report written by WriteJSON and checks its schema.
func ReadReport(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("read report json: %w", err)
	}
	if r.Schema != ReportSchema {
		return nil, fmt.Errorf("read report json: schema %q, want %q", r.Schema, ReportSchema)
	}
	return &r, nil
}
