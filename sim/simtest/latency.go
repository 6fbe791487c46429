package simtest

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
)

// HaveLatencyPercentile succeeds when the p-th latency percentile satisfies
// m, which sees a time.Duration: HaveLatencyPercentile(99,
// BeNumerically("<", 50*time.Millisecond)).
//
// It takes a *loadgen.Report (its overall corrected latency: from each
// request's intended send time, so stalls are not hidden), a
// loadgen.PhaseReport or loadgen.Stats (corrected too), a loadgen.Latency
// (pass Stats.Raw for raw latency), a *sim.World or *sim.Ledger (the exact
// latencies of the answered requests, as their clients measured them) or a
// []time.Duration. loadgen keeps the percentiles 0 (min), 50, 90, 99, 99.9,
// 99.99 and 100 (max); exact samples take any p in [0, 100].
func HaveLatencyPercentile(p float64, m types.GomegaMatcher) types.GomegaMatcher {
	return &matcher{want: fmt.Sprintf("have a p%g latency that satisfies the matcher", p), match: func(actual any) (verdict, error) {
		if p < 0 || p > 100 || math.IsNaN(p) {
			return verdict{}, fmt.Errorf("HaveLatencyPercentile: percentile %g is not within [0, 100]", p)
		}
		got, subject, summary, err := percentile(actual, p)
		if err != nil {
			return verdict{}, err
		}
		ok, err := m.Match(got)
		if err != nil {
			return verdict{}, fmt.Errorf("HaveLatencyPercentile(%g): %w", p, err)
		}
		v := verdict{ok: ok, subject: subject}
		v.observed = fmt.Sprintf("p%g is %s (%s)\n%s", p, got, summary, m.FailureMessage(got))
		v.negObserved = fmt.Sprintf("p%g is %s (%s)\n%s", p, got, summary, m.NegatedFailureMessage(got))
		return v, nil
	}}
}

// percentile reads the p-th percentile from any of the accepted types.
func percentile(actual any, p float64) (time.Duration, string, string, error) {
	switch a := actual.(type) {
	case *loadgen.Report:
		if a == nil {
			return 0, "", "", fmt.Errorf("HaveLatencyPercentile: the report is nil")
		}
		return fromLatency(a.Overall.Corrected, p, "the report's corrected latency")
	case loadgen.Report:
		return fromLatency(a.Overall.Corrected, p, "the report's corrected latency")
	case loadgen.PhaseReport:
		return fromLatency(a.Stats.Corrected, p, "phase "+a.Name+"'s corrected latency")
	case loadgen.Stats:
		return fromLatency(a.Corrected, p, "the corrected latency")
	case loadgen.Latency:
		return fromLatency(a, p, "the latency")
	case *sim.World, *sim.Ledger:
		entries, _, err := entriesOf(actual, "HaveLatencyPercentile")
		if err != nil {
			return 0, "", "", err
		}
		var lat []time.Duration
		for _, e := range entries {
			if e.Outcome != nil && e.Outcome.ErrKind == "" {
				lat = append(lat, e.Outcome.Latency)
			}
		}
		return fromSamples(lat, p, "the answered requests' latency")
	case []time.Duration:
		return fromSamples(a, p, "the latencies")
	}
	return 0, "", "", fmt.Errorf("HaveLatencyPercentile expects a *loadgen.Report, loadgen.PhaseReport, loadgen.Stats, loadgen.Latency, *sim.World, *sim.Ledger or []time.Duration, got %T", actual)
}

func fromLatency(l loadgen.Latency, p float64, subject string) (time.Duration, string, string, error) {
	summary := fmt.Sprintf("of %d: min %s p50 %s p90 %s p99 %s p99.9 %s max %s", l.Count, l.Min, l.P50, l.P90, l.P99, l.P999, l.Max)
	var d time.Duration
	switch p {
	case 0:
		d = l.Min
	case 50:
		d = l.P50
	case 90:
		d = l.P90
	case 99:
		d = l.P99
	case 99.9:
		d = l.P999
	case 99.99:
		d = l.P9999
	case 100:
		d = l.Max
	default:
		return 0, "", "", fmt.Errorf("HaveLatencyPercentile: loadgen keeps p0 (min), p50, p90, p99, p99.9, p99.99 and p100 (max), not p%g; pass exact samples ([]time.Duration or the world) for other percentiles", p)
	}
	if l.Count == 0 {
		return 0, "", "", fmt.Errorf("HaveLatencyPercentile: %s has no samples", subject)
	}
	return d, subject, summary, nil
}

// fromSamples is the nearest-rank percentile of exact samples.
func fromSamples(lat []time.Duration, p float64, subject string) (time.Duration, string, string, error) {
	if len(lat) == 0 {
		return 0, "", "", fmt.Errorf("HaveLatencyPercentile: %s has no samples", subject)
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	rank = min(max(rank, 0), len(s)-1)
	summary := fmt.Sprintf("of %d: min %s p50 %s max %s", len(s), s[0], s[(len(s)-1)/2], s[len(s)-1])
	return s[rank], subject, summary, nil
}
