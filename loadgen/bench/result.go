package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Schema names the JSON form of Result.
const Schema = "proxylab.bench/v1"

// Target kinds.
const (
	KindDirect  = "direct"  // no proxy
	KindBuiltin = "builtin" // a built-in proxy, run as a child process
	KindPeer    = "peer"    // an external proxy started for the run
	KindURL     = "url"     // a URL already running
)

// Result is a whole run: every target's figures side by side.
type Result struct {
	Schema  string         `json:"schema"`
	Start   time.Time      `json:"start"`
	Elapsed time.Duration  `json:"elapsed_ns"`
	Env     Env            `json:"env"`
	Setup   Setup          `json:"setup"`
	Targets []TargetResult `json:"targets"`
	// Skipped lists the targets that were asked for but not measured, and why.
	Skipped []SkippedTarget `json:"skipped,omitempty"`
}

// Env records the machine, for reading the figures later.
type Env struct {
	CPU     string `json:"cpu"`
	Cores   int    `json:"cores"`
	Kernel  string `json:"kernel"`
	Go      string `json:"go"`
	Pinned  bool   `json:"pinned"`             // proxy on core 1, load and backend on core 0
	StealMs int64  `json:"steal_ms,omitempty"` // CPU steal during the run, all cores
}

// Setup is the load every target got.
type Setup struct {
	Duration    time.Duration `json:"duration_ns"`
	Warmup      time.Duration `json:"warmup_ns"`
	Connections int           `json:"connections"`
	Reps        int           `json:"reps"`
	Rate        float64       `json:"open_loop_rate"` // req/s of the added-latency runs; 0 when skipped
	Body        int64         `json:"body_bytes"`
	Backend     string        `json:"backend"`
	BackendAddr string        `json:"backend_addr"`
	IdleConns   int           `json:"idle_conns,omitempty"`
	Streams     int           `json:"tunnel_streams,omitempty"`
}

// SkippedTarget is a target that was not measured.
type SkippedTarget struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// TargetResult is one target's figures. Spreads are over the repetitions.
type TargetResult struct {
	Name string `json:"name"`           // "direct", "reverse", "forward", "nginx", or the URL
	Kind string `json:"kind"`           // KindDirect, KindBuiltin, KindPeer or KindURL
	Mode string `json:"mode,omitempty"` // "reverse" or "forward"; "" for direct
	Addr string `json:"addr,omitempty"` // where the load went
	// PID is the proxy process whose CPU and memory were read; 0 when none
	// could be found (direct, or a URL served by another machine or user).
	PID int `json:"pid,omitempty"`

	// Closed loop.
	ReqPerSec Spread `json:"req_per_s"`
	P50       Spread `json:"p50_us"`
	P99       Spread `json:"p99_us"`
	Requests  int64  `json:"requests"` // all measured repetitions
	Errors    int64  `json:"errors"`   // failed requests, all runs
	// CPUPerReq is the proxy's CPU µs per request (Δ utime+stime of its
	// process tree over requests); empty when PID is 0.
	CPUPerReq Spread `json:"cpu_us_per_req"`
	// LoadCPU is the share of one core this process (load generator and sim
	// backend) used during the closed loop; near 1 with pinning means the
	// load core was the bottleneck, so compare CPUPerReq rather than req/s.
	LoadCPU Spread `json:"load_cpu_share"`
	// LoadWakeups is how many wake-up interrupts (rescheduling and
	// function-call, /proc/interrupts) the load core received per request
	// during the closed loop; empty when not pinned. Near 0: the load core
	// never waited for the proxy. Near 1 or more: it often sat idle waiting
	// for the proxy, and the proxy's every write paid for waking it — on a
	// virtual machine that alone can add a third to its CPU per request.
	LoadWakeups Spread `json:"load_wakeups_per_req"`
	// PeakRSS is the proxy tree's VmHWM in bytes after the load runs, before
	// the idle-connection figure; 0 when PID is 0.
	PeakRSS int64 `json:"peak_rss_bytes,omitempty"`

	// Open loop at Setup.Rate: latency, and latency added over direct's.
	OpenP50 Spread `json:"open_p50_us"`
	OpenP99 Spread `json:"open_p99_us"`
	// OpenCPUPerReq is the proxy's CPU µs per request in the open loop; empty
	// when PID is 0. Every target gets the same rate there, so it compares
	// proxies at equal work: in the closed loop a faster proxy also keeps
	// the load core busier, and waking a busy core costs its writes less.
	OpenCPUPerReq Spread `json:"open_cpu_us_per_req"`
	AddedP50      Spread `json:"added_p50_us"`
	AddedP99      Spread `json:"added_p99_us"`

	// Idle is the memory held for idle client connections; nil when not measured.
	Idle *Idle `json:"idle,omitempty"`
	// Tunnel is CONNECT bulk throughput (direct: plain TCP); nil when not measured.
	Tunnel *Tunnel `json:"tunnel,omitempty"`

	// VsDirect is this target's median req/s over direct's.
	VsDirect float64 `json:"vs_direct,omitempty"`
	// Vs compares this target with each other proxy of the same mode, by name.
	Vs map[string]Ratio `json:"vs,omitempty"`
}

// Idle is the memory figure: N idle keep-alive client connections held
// through the proxy after one request each.
type Idle struct {
	Conns     int   `json:"conns"`
	Opened    int   `json:"opened"` // connections that completed their request
	Held      int   `json:"held"`   // of those, still established when RSS was read
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSAfter  int64 `json:"rss_after_bytes"`
	PerConn   int64 `json:"per_conn_bytes"` // (after-before)/held
}

// Tunnel is the CONNECT bulk figure: Setup.Streams streams at once, client
// to a TCP sink.
type Tunnel struct {
	MBps Spread `json:"mb_per_s"` // 10^6 bytes per second
	// CPUPerGB is the proxy's CPU ms per 10^9 bytes; empty when PID is 0.
	CPUPerGB Spread  `json:"cpu_ms_per_gb"`
	VsDirect float64 `json:"vs_direct,omitempty"`
}

// Ratio compares two targets' medians: this one over the other.
type Ratio struct {
	ReqPerSec float64 `json:"req_per_s,omitempty"`
	CPUPerReq float64 `json:"cpu_per_req,omitempty"`
	// OpenCPUPerReq compares CPU per request at the open-loop rate.
	OpenCPUPerReq float64 `json:"open_cpu_per_req,omitempty"`
}

// Spread is a figure over the repetitions: median, minimum, maximum and the
// samples in the order they were taken. The zero Spread means not measured.
type Spread struct {
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples,omitempty"`
}

// NewSpread summarises samples.
func NewSpread(samples []float64) Spread {
	if len(samples) == 0 {
		return Spread{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[len(s)-1], Samples: slices.Clone(samples)}
}

// Measured reports whether the spread has samples.
func (s Spread) Measured() bool { return len(s.Samples) > 0 }

// Format returns "median (min–max)" with the given verb, such as "%.1f".
func (s Spread) Format(verb string) string {
	if !s.Measured() {
		return "—"
	}
	if len(s.Samples) == 1 || s.Min == s.Max {
		return fmt.Sprintf(verb, s.Median)
	}
	return fmt.Sprintf(verb+" ("+verb+"–"+verb+")", s.Median, s.Min, s.Max)
}

// Target returns the named target's figures.
func (r *Result) Target(name string) (TargetResult, bool) {
	for _, t := range r.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return TargetResult{}, false
}

// WriteJSON writes the result as indented JSON (schema Schema).
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write bench json: %w", err)
	}
	return nil
}

// ReadResult reads what WriteJSON wrote.
func ReadResult(rd io.Reader) (*Result, error) {
	var r Result
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("read bench json: %w", err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("read bench json: schema %q, want %q", r.Schema, Schema)
	}
	return &r, nil
}
