package bench

import (
	"fmt"
	"io"
	"strings"
)

// WriteBenchfmt writes every repetition in the Go benchmark format, one
// line per target and repetition, so that benchstat can compare two runs
// (or two targets) with its Mann-Whitney U test:
//
//	BenchmarkProxy/target=reverse 1 108.5 cpu-µs/req 6642 req/s 1911 p50-µs 8815 p99-µs
//
// Units whose figure was not measured for a target are left out.
func (r *Result) WriteBenchfmt(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "goos: linux\ncpu: %s\npkg: proxylab/bench\n", r.Env.CPU)
	for _, t := range r.Targets {
		name := strings.NewReplacer(" ", "_", "/", "_").Replace(t.Name)
		for i := range t.ReqPerSec.Samples {
			var b strings.Builder
			fmt.Fprintf(&b, "BenchmarkProxy/target=%s 1", name)
			add := func(s Spread, unit string) {
				if i < len(s.Samples) {
					fmt.Fprintf(&b, " %.4g %s", s.Samples[i], unit)
				}
			}
			add(t.CPUPerReq, "cpu-µs/req")
			add(t.ReqPerSec, "req/s")
			add(t.P50, "p50-µs")
			add(t.P99, "p99-µs")
			add(t.OpenP99, "open-p99-µs")
			add(t.OpenCPUPerReq, "open-cpu-µs/req")
			add(t.LoadWakeups, "load-wakeups/req")
			if t.Tunnel != nil {
				add(t.Tunnel.MBps, "tunnel-MB/s")
			}
			fmt.Fprintln(ew, b.String())
		}
	}
	return ew.err
}
