package scenarios

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Marks used in text output.
const (
	markPass = "✔"
	markFail = "✘"
	markSkip = "–"
)

// WriteText writes one result: its verdict line and every check with what was observed.
func (r *Result) WriteText(w io.Writer) error {
	mark := markPass
	switch r.Verdict {
	case Failed, Broken:
		mark = markFail
	case Skipped:
		mark = markSkip
	}
	head := fmt.Sprintf("%s %s (%s) %s in %s", mark, r.Name, r.Area, r.Verdict, r.Elapsed.Round(10*time.Millisecond))
	if r.Load != nil {
		head += fmt.Sprintf(" — %d requests, %d lost, %d failed", r.Ledger.Sent, r.Ledger.Lost, r.Ledger.Failed)
	}
	if _, err := fmt.Fprintln(w, head); err != nil {
		return err
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "    %s\n", r.Reason)
	}
	if r.Load != nil && len(r.Load.Overall.Errors) > 0 {
		kinds := make([]string, 0, len(r.Load.Overall.Errors))
		for k, n := range r.Load.Overall.Errors {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "    transport errors: %s\n", strings.Join(kinds, ", "))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		m := markPass
		if !c.Pass {
			m = markFail
		}
		obs := ""
		if c.Observed != "" {
			obs = "observed " + c.Observed
		}
		if c.Error != "" {
			obs = strings.TrimSpace(obs + " error: " + c.Error)
		}
		fmt.Fprintf(tw, "    %s %s\t%s\n", m, c.Expr, obs)
	}
	return tw.Flush()
}

// WriteTable writes the verdict table of several results.
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tAREA\tVERDICT\tCHECKS\tREQUESTS\tLOST\tP99\tELAPSED")
	for _, r := range results {
		pass := 0
		for _, c := range r.Checks {
			if c.Pass {
				pass++
			}
		}
		p99 := "-"
		if r.Load != nil {
			p99 = r.Load.Overall.Corrected.P99.Round(10 * time.Microsecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\t%s\n", r.Name, r.Area, r.Verdict, pass, len(r.Checks),
			r.Ledger.Sent, r.Ledger.Lost, p99, r.Elapsed.Round(10*time.Millisecond))
	}
	return tw.Flush()
}

// WriteJSON writes results as one JSON document.
func WriteJSON(w io.Writer, results []*Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Schema  string    `json:"schema"`
		Results []*Result `json:"results"`
	}{Schema: "proxylab.scenarios/v1", Results: results})
}
