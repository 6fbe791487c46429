package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes a human summary: per phase and overall, the schedule
// figures, outcomes, error kinds and corrected and raw latency quantiles, then
// the per-tag breakdowns.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range r.Phases {
		head := fmt.Sprintf("phase %s (%s loop", p.Name, p.Mode)
		if p.Mode == "closed" {
			head += fmt.Sprintf(", %d connections", p.Connections)
		}
		fmt.Fprintf(tw, "%s, %s)\n", head, p.Stats.Duration)
		writeStats(tw, p.Stats, p.Mode == "open")
		for _, dim := range []struct {
			name string
			m    TagMap
		}{{"client", p.ByClient}, {"server", p.ByServer}, {"status", p.ByStatus}} {
			writeTags(tw, dim.name, dim.m)
		}
		fmt.Fprintln(tw)
	}
	if len(r.Phases) > 1 {
		fmt.Fprintf(tw, "overall (%s)\n", r.Duration)
		writeStats(tw, r.Overall, r.Overall.Planned > 0 && r.Overall.AskedRate > 0)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report text: %w", err)
	}
	return nil
}

func writeStats(w io.Writer, s Stats, open bool) {
	if open {
		fmt.Fprintf(w, "  rate\tasked %.1f/s\tachieved %.1f/s\tplanned %d\tsent %d\tlate %d\tunsent %d\n",
			s.AskedRate, s.Rate, s.Planned, s.Sent, s.Late, s.Unsent)
	} else {
		fmt.Fprintf(w, "  rate\tachieved %.1f/s\n", s.Rate)
	}
	fmt.Fprintf(w, "  requests\t%d\tsuccesses %d\tfailures %d\t(%.2f%% success)\tbytes %d\n",
		s.Requests, s.Successes, s.Failures, 100*s.SuccessRate(), s.Bytes)
	if len(s.Errors) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Errors[k]))
		}
		fmt.Fprintf(w, "  errors\t%s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "  latency\tp50\tp90\tp99\tp99.9\tp99.99\tmax\tmean\n")
	writeLatency(w, "corrected", s.Corrected)
	writeLatency(w, "raw", s.Raw)
}

func writeLatency(w io.Writer, name string, l Latency) {
	fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name,
		dur(l.P50), dur(l.P90), dur(l.P99), dur(l.P999), dur(l.P9999), dur(l.Max), dur(l.Mean))
}

func writeTags(w io.Writer, dim string, m TagMap) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "  by %s\trequests\tfailures\tp50\tp99 (corrected)\n", dim)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s := m[k]
		fmt.Fprintf(w, "    %s\t%d\t%d\t%s\t%s\n", k, s.Requests, s.Failures, dur(s.Corrected.P50), dur(s.Corrected.P99))
	}
}

// dur rounds a latency for reading: 3 significant digits.
func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
}
