package simtest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/proxylab/proxylab/sim"
)

// HaveLostNothing succeeds when every request in the ledger got a response
// (any status): none failed in transport, none is still in flight. It takes a
// *sim.World, a *sim.Ledger or []sim.Entry (see Idempotent). The failure
// lists the lost ids with their error kinds and counts them by kind.
func HaveLostNothing() types.GomegaMatcher {
	return entryMatcher("HaveLostNothing", "have lost no request", "lost", (*sim.Entry).Lost)
}

// HaveFailedNothing succeeds when every request in the ledger got a non-5xx
// response. The failure lists the failed ids with their status or error.
func HaveFailedNothing() types.GomegaMatcher {
	return entryMatcher("HaveFailedNothing", "have failed no request", "failed", (*sim.Entry).Failed)
}

// HaveNoDuplicates succeeds when no request reached servers more than once
// (a retry after a timeout does that). The failure lists the ids with the
// servers that received each.
func HaveNoDuplicates() types.GomegaMatcher {
	return entryMatcher("HaveNoDuplicates", "have no request served twice", "served more than once",
		func(e *sim.Entry) bool { return len(e.Receipts) > 1 })
}

// HaveNoUnsafeDuplicates succeeds when no non-idempotent request (POST,
// PATCH… without an Idempotency-Key) reached servers more than once: that is
// always a bug in a proxy. The failure lists the ids with their receipts.
func HaveNoUnsafeDuplicates() types.GomegaMatcher {
	return entryMatcher("HaveNoUnsafeDuplicates", "have no unsafe request served twice", "unsafe and served more than once",
		func(e *sim.Entry) bool { return e.Unsafe && len(e.Receipts) > 1 })
}

// entryMatcher succeeds when no entry is bad.
func entryMatcher(name, want, badWord string, bad func(*sim.Entry) bool) types.GomegaMatcher {
	return &matcher{want: want, match: func(actual any) (verdict, error) {
		entries, subject, err := entriesOf(actual, name)
		if err != nil {
			return verdict{}, err
		}
		var offending []string
		kinds := map[string]int{}
		for i := range entries {
			e := &entries[i]
			if bad(e) {
				offending = append(offending, describeEntry(e))
				kinds[kindOf(e)]++
			}
		}
		v := verdict{ok: len(offending) == 0, subject: subject}
		if v.ok {
			v.observed = fmt.Sprintf("none of %d requests was %s", len(entries), badWord)
			return v, nil
		}
		v.observed = fmt.Sprintf("%d of %d requests %s (%s): %s",
			len(offending), len(entries), badWord, countsText(kinds), listed(offending))
		return v, nil
	}}
}

// describeEntry says what happened to one request: id, method, outcome, receipts.
func describeEntry(e *sim.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.ID, method(e.Method))
	switch {
	case e.Outcome == nil:
		b.WriteString(" no outcome (in flight)")
	case e.Outcome.ErrKind != "":
		fmt.Fprintf(&b, " %s after %s", e.Outcome.ErrKind, e.Outcome.Latency)
	default:
		fmt.Fprintf(&b, " %d", e.Outcome.Status)
		if e.Outcome.Server != "" {
			b.WriteString(" from " + e.Outcome.Server)
		}
	}
	if len(e.Receipts) == 0 {
		b.WriteString(", reached no server")
	} else {
		names := make([]string, len(e.Receipts))
		for i, r := range e.Receipts {
			names[i] = r.Server
		}
		b.WriteString(", reached " + strings.Join(names, "+"))
	}
	return b.String()
}

// kindOf classifies an entry for the counts in a message.
func kindOf(e *sim.Entry) string {
	switch {
	case e.Outcome == nil:
		return "in flight"
	case e.Outcome.ErrKind != "":
		return string(e.Outcome.ErrKind)
	default:
		return fmt.Sprintf("status %d", e.Outcome.Status)
	}
}

// countsText writes counts as "refused 2, timeout 1", sorted by name.
func countsText(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
