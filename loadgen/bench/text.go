package bench

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the result as aligned tables: throughput and CPU, open
// loop latency, CONNECT throughput, idle memory, then the ratios.
func (r *Result) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	e := r.Env
	pin := "not pinned"
	if e.Pinned {
		pin = fmt.Sprintf("proxy on core %d, load and backend on core %d", proxyCore, loadCore)
	}
	fmt.Fprintf(ew, "proxylab bench: %s, %d cores, kernel %s, %s; %s; steal %d ms\n", e.CPU, e.Cores, e.Kernel, e.Go, pin, e.StealMs)
	s := r.Setup
	fmt.Fprintf(ew, "backend %s at %s, body %d B; %d connections; %d × %s interleaved after %s warm-up; median (min–max)\n\n",
		s.Backend, s.BackendAddr, s.Body, s.Connections, s.Reps, s.Duration, s.Warmup)

	tw := tabwriter.NewWriter(ew, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tkind\treq/s\t×direct\tp50 µs\tp99 µs\tCPU µs/req\tpeak RSS MB\tload core\twake-ups/req\terrors\t")
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", t.Name, kindLabel(t), t.ReqPerSec.Format("%.0f"),
			times(t.VsDirect), t.P50.Format("%.0f"), t.P99.Format("%.0f"), t.CPUPerReq.Format("%.1f"), mb(t.PeakRSS),
			percent(t.LoadCPU.Median, t.LoadCPU.Measured()), t.LoadWakeups.Format("%.2f"), t.Errors)
	}
	_ = tw.Flush()

	if s.Rate > 0 {
		fmt.Fprintf(ew, "\nopen loop at %.0f req/s (corrected latency; added = proxied − direct, same repetition)\n", s.Rate)
		tw = tabwriter.NewWriter(ew, 2, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tp50 µs\tp99 µs\tadded p50 µs\tadded p99 µs\tCPU µs/req\t")
		for _, t := range r.Targets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", t.Name, t.OpenP50.Format("%.0f"), t.OpenP99.Format("%.0f"),
				t.AddedP50.Format("%+.0f"), t.AddedP99.Format("%+.0f"), t.OpenCPUPerReq.Format("%.1f"))
		}
		_ = tw.Flush()
	}

	if slices.ContainsFunc(r.Targets, func(t TargetResult) bool { return t.Tunnel != nil }) {
		fmt.Fprintf(ew, "\nCONNECT tunnel, %d bulk stream(s) to a TCP sink (direct: plain TCP)\n", max(s.Streams, 1))
		tw = tabwriter.NewWriter(ew, 2, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tMB/s\t×direct\tCPU ms/GB\t")
		for _, t := range r.Targets {
			if t.Tunnel != nil {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", t.Name, t.Tunnel.MBps.Format("%.0f"), times(t.Tunnel.VsDirect), t.Tunnel.CPUPerGB.Format("%.0f"))
			}
		}
		_ = tw.Flush()
	}

	if slices.ContainsFunc(r.Targets, func(t TargetResult) bool { return t.Idle != nil }) {
		fmt.Fprintf(ew, "\nidle keep-alive client connections (RSS of the proxy's processes)\n")
		tw = tabwriter.NewWriter(ew, 2, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\theld/asked\tRSS before MB\tRSS after MB\tKiB/conn\tMB per 10k\t")
		for _, t := range r.Targets {
			if i := t.Idle; i != nil {
				fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%.1f\t%.1f\t\n", t.Name, i.Held, i.Conns, mb(i.RSSBefore), mb(i.RSSAfter),
					float64(i.PerConn)/1024, float64(i.PerConn)*10000/1e6)
			}
		}
		_ = tw.Flush()
	}

	var vs []string
	for _, t := range r.Targets {
		if t.Kind != KindBuiltin {
			continue
		}
		for _, o := range r.Targets {
			if q, ok := t.Vs[o.Name]; ok && o.Kind != KindBuiltin {
				line := fmt.Sprintf("%s vs %s: CPU per request %s", t.Name, o.Name, times(q.CPUPerReq))
				if q.OpenCPUPerReq > 0 {
					line += fmt.Sprintf(" (%s at %.0f req/s, open loop)", times(q.OpenCPUPerReq), s.Rate)
				}
				vs = append(vs, line+", req/s "+times(q.ReqPerSec))
			}
		}
	}
	if len(vs) > 0 {
		fmt.Fprintf(ew, "\n%s\n", strings.Join(vs, "\n"))
	}
	if line := hostNote(r.Targets); line != "" {
		fmt.Fprintf(ew, "\n%s", line)
	}
	for _, t := range r.Targets {
		if line := waitedNote(t); line != "" {
			fmt.Fprintf(ew, "\n%s", line)
		}
	}
	for _, sk := range r.Skipped {
		fmt.Fprintf(ew, "\nskipped %s: %s", sk.Name, sk.Reason)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(ew)
	}
	return ew.err
}

func kindLabel(t TargetResult) string {
	if t.Mode == "" {
		return t.Kind
	}
	return t.Kind + " " + t.Mode
}

func times(x float64) string {
	if x <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", x)
}

func percent(x float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func mb(b int64) string {
	if b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", float64(b)/1e6)
}

// errWriter keeps the first write error so the text code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = fmt.Errorf("write bench text: %w", err)
	}
	return n, err
}

// wokenShare is the wake-ups per request above which a repetition counts
// as one where the load core waited on the proxy.
const wokenShare = 0.2

// waitedNote says, for a target whose load core waited on it in some
// repetitions, which ones and what its CPU per request was with and
// without; "" when there were none or the figures are not paired.
func waitedNote(t TargetResult) string {
	w, cpu := t.LoadWakeups.Samples, t.CPUPerReq.Samples
	if len(w) == 0 || len(w) != len(cpu) {
		return ""
	}
	var woken, calm []float64
	for i, x := range w {
		if x > wokenShare {
			woken = append(woken, cpu[i])
		} else {
			calm = append(calm, cpu[i])
		}
	}
	if len(woken) == 0 {
		return ""
	}
	line := fmt.Sprintf("%s: the load core waited on it in %d of %d repetitions (over %.1f wake-ups per request); "+
		"its CPU per request there, %s µs, includes waking that core", t.Name, len(woken), len(w), wokenShare, joinFloats(woken))
	if len(calm) > 0 {
		line += fmt.Sprintf("; in the others %s µs", joinFloats(calm))
	}
	return line + "\n"
}

// hostSwing is how far below its best repetition the direct baseline's
// req/s may fall before the text report says the machine itself changed
// speed during the run.
const hostSwing = 0.15

// hostNote names the repetitions in which the direct baseline, which has no
// proxy to blame, ran more than hostSwing slower than in its best one: on a
// shared or virtual machine another tenant or throttling slows every target
// measured around then, so figures are best compared within a repetition.
func hostNote(targets []TargetResult) string {
	for _, t := range targets {
		if t.Kind != KindDirect {
			continue
		}
		s := t.ReqPerSec
		floor := (1 - hostSwing) * s.Max
		if len(s.Samples) < 2 || s.Min >= floor {
			return ""
		}
		var slow []string
		for i, x := range s.Samples {
			if x < floor {
				slow = append(slow, strconv.Itoa(i+1))
			}
		}
		return fmt.Sprintf("direct: %.0f–%.0f req/s across repetitions, with no proxy in the way: the machine itself was "+
			"slower in repetition %s of %d, and so probably every target measured around then; compare figures "+
			"within a repetition (--json lists them) or run again\n", s.Min, s.Max, strings.Join(slow, ", "), len(s.Samples))
	}
	return ""
}

func joinFloats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, ", ")
}
