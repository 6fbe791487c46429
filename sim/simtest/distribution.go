package simtest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/proxylab/proxylab/sim"
)

// BeDistributedLike succeeds when requests were spread over servers in
// proportion to weights: each server's share of all requests is within tol
// (an absolute share: 0.05 is ±5 percentage points) of its weight's share of
// the total weight. A server that received requests but has no weight is
// expected to get 0. It takes the counts per server as a map[string]int
// (Ledger.Counts), a *sim.Ledger or a *sim.World (their receipts so far). The
// failure shows every server's count, share and expected share.
func BeDistributedLike(weights map[string]int, tol float64) types.GomegaMatcher {
	return &matcher{want: fmt.Sprintf("be distributed like %s within ±%.1f%%", weightsText(weights), tol*100),
		match: func(actual any) (verdict, error) {
			if tol < 0 || tol > 1 {
				return verdict{}, fmt.Errorf("BeDistributedLike: tolerance %g is not a share between 0 and 1 (0.05 is ±5%%)", tol)
			}
			var counts map[string]int
			subject := "the counts"
			switch a := actual.(type) {
			case map[string]int:
				counts = a
			case *sim.Ledger:
				counts, subject = a.Counts(0, 0), "the ledger's counts"
			case *sim.World:
				counts, subject = a.Ledger().Counts(0, 0), "the world's counts"
			default:
				return verdict{}, fmt.Errorf("BeDistributedLike expects a map[string]int, a *sim.Ledger or a *sim.World, got %T", actual)
			}
			totalW := 0
			for name, w := range weights {
				if w < 0 {
					return verdict{}, fmt.Errorf("BeDistributedLike: weight %d of %s is negative", w, name)
				}
				totalW += w
			}
			if totalW == 0 {
				return verdict{}, fmt.Errorf("BeDistributedLike: the weights %v add up to 0", weights)
			}
			names := map[string]bool{}
			total := 0
			for n, c := range counts {
				names[n] = true
				total += c
			}
			for n := range weights {
				names[n] = true
			}
			v := verdict{ok: total > 0, subject: subject}
			if total == 0 {
				v.observed = "no requests were counted"
				return v, nil
			}
			sorted := make([]string, 0, len(names))
			for n := range names {
				sorted = append(sorted, n)
			}
			sort.Strings(sorted)
			lines := make([]string, 0, len(sorted))
			for _, n := range sorted {
				got := float64(counts[n]) / float64(total)
				want := float64(weights[n]) / float64(totalW)
				mark := "ok"
				if d := got - want; d > tol || d < -tol {
					v.ok, mark = false, "off"
				}
				lines = append(lines, fmt.Sprintf("%s %d (%.1f%%, want %.1f%%) %s", n, counts[n], got*100, want*100, mark))
			}
			v.observed = fmt.Sprintf("%d requests: %s", total, strings.Join(lines, "; "))
			return v, nil
		}}
}

func weightsText(weights map[string]int) string {
	names := make([]string, 0, len(weights))
	for n := range weights {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s:%d", n, weights[n])
	}
	return "{" + strings.Join(parts, " ") + "}"
}
