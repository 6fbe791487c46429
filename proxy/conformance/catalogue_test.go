package conformance_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/conformance"
)

// knownFailures are cases a built-in proxy does not pass yet, with what is
// missing. Their entries are pending, so the table still lists them.
var knownFailures = map[conformance.Mode]map[string]string{
	// None today. Cases 1, 6–6c and 8b (net/http hides CL+TE, obs-fold and
	// chunk extensions from handlers) pass since proxy.Server checks framing
	// below net/http; 21b since it bounds the drain of a refused body.
	conformance.Reverse: {},
	conformance.Forward: {},
}

// entries turns the catalogue into table entries for mode. Each entry's
// description is the case's id, title and why it exists (Case.Why); a case
// that does not apply to mode stays in the table and skips with its reason.
func entries(mode conformance.Mode) []TableEntry {
	var out []TableEntry
	for _, c := range conformance.Catalogue() {
		desc := fmt.Sprintf("%s %s: %s", c.ID, c.Title, c.Why)
		if note, ok := knownFailures[mode][c.ID]; ok {
			out = append(out, PEntry(desc+" [pending: "+note+"]", c))
			continue
		}
		out = append(out, Entry(desc, Label("case-"+c.ID), c))
	}
	return out
}

var _ = Describe("The security catalogue", func() {
	for _, secure := range []bool{false, true} {
		for _, mode := range []conformance.Mode{conformance.Reverse, conformance.Forward} {
			name := "probing the built-in " + string(mode) + " proxy"
			if secure {
				name += " over TLS"
			}
			When(name, func() {
				var w *world

				BeforeEach(func() {
					w = startWorld(mode, secure)
				})

				DescribeTable("should answer each case as the catalogue says",
					func(ctx SpecContext, c *conformance.Case) {
						res := w.runner.Run(ctx, c)
						if res.Verdict == conformance.NotApplicable {
							Skip(strings.Join(res.Problems, "; "))
						}
						Expect(res.Verdict).To(Equal(conformance.Pass), explain(res))
					},
					entries(mode),
				)
			})
		}
	}

	It("should have unique ids, a reason for every case and a reason wherever a mode is left out", func() {
		seen := map[string]bool{}
		for _, c := range conformance.Catalogue() {
			Expect(seen[c.ID]).To(BeFalse(), "duplicate id %s", c.ID)
			seen[c.ID] = true
			Expect(c.Why).NotTo(BeEmpty(), "case %s", c.ID)
			Expect(c.Modes).NotTo(BeEmpty(), "case %s", c.ID)
			for _, m := range []conformance.Mode{conformance.Reverse, conformance.Forward} {
				ok, why := c.AppliesTo(m)
				if !ok {
					Expect(why).NotTo(BeEmpty(), "case %s in %s", c.ID, m)
				}
			}
			runnable := c.Request != "" || c.Probe != nil
			Expect(runnable || len(c.NotApplicable) == 2).To(BeTrue(), "case %s sends nothing", c.ID)
		}
		for i := 1; i <= 39; i++ {
			Expect(seen[fmt.Sprint(i)]).To(BeTrue(), "case %d of docs/SECURITY.md is missing", i)
		}
	})
})
