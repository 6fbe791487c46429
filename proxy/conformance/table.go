package conformance

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Tally counts results by verdict.
type Tally struct {
	Pass, Fail, NotApplicable, Broken int
}

// TallyOf counts results by verdict.
func TallyOf(results []*Result) Tally {
	var t Tally
	for _, r := range results {
		switch r.Verdict {
		case Pass:
			t.Pass++
		case Fail:
			t.Fail++
		case NotApplicable:
			t.NotApplicable++
		case Broken:
			t.Broken++
		}
	}
	return t
}

// String is the closing line: "N passed, N failed, N skipped".
func (t Tally) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", t.Pass, t.Fail+t.Broken, t.NotApplicable)
}

// WriteTable prints one row per result: case, verdict, title, what was seen
// and, for anything but a pass, why; then the tally.
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tVERDICT\tWHAT\tSEEN\tWHY")
	for _, r := range results {
		why := strings.Join(r.Problems, "; ")
		if r.Obs != nil && len(r.Obs.Notes) > 0 && r.Verdict != Pass {
			why = strings.Join(append([]string{why}, r.Obs.Notes...), "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Case.ID, r.Verdict, r.Case.Title, r.Summary(), why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %s\n", modeOf(results), TallyOf(results))
	return err
}

func modeOf(results []*Result) string {
	if len(results) == 0 {
		return "conformance"
	}
	return "conformance " + string(results[0].Mode)
}
