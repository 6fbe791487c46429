package simtest

import (
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/proxylab/proxylab/sim"
)

// MaxListed is how many offending items (ids, receipts) a failure message
// lists before it says how many more there were.
const MaxListed = 5

// verdict is what a match found.
type verdict struct {
	ok bool
	// subject names what was examined: "the ledger", "response cli1-3".
	subject string
	// observed says what was seen, for the failure of To.
	observed string
	// negObserved says what was seen, for the failure of NotTo; empty means observed.
	negObserved string
}

// matcher is a GomegaMatcher whose messages say what was observed. Like
// every Gomega matcher, an instance keeps the last match for its messages:
// use one instance per assertion.
type matcher struct {
	// want says what the matcher expects, after "to": "be served by server2".
	want  string
	match func(actual any) (verdict, error)
	last  verdict
}

var _ types.GomegaMatcher = (*matcher)(nil)

// Match runs the check.
func (m *matcher) Match(actual any) (bool, error) {
	v, err := m.match(actual)
	m.last = v
	return v.ok, err
}

// FailureMessage says what was expected and what was observed.
func (m *matcher) FailureMessage(any) string {
	return fmt.Sprintf("Expected %s to %s\nobserved: %s", m.last.subject, m.want, m.last.observed)
}

// NegatedFailureMessage says what was not expected and what was observed.
func (m *matcher) NegatedFailureMessage(any) string {
	obs := m.last.negObserved
	if obs == "" {
		obs = m.last.observed
	}
	return fmt.Sprintf("Expected %s not to %s\nobserved: %s", m.last.subject, m.want, obs)
}

// listed joins the first MaxListed items and says how many were left out.
func listed(items []string) string {
	if len(items) <= MaxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s, … and %d more", strings.Join(items[:MaxListed], ", "), len(items)-MaxListed)
}

// entriesOf reads the ledger entries of a *sim.World, a *sim.Ledger or a
// []sim.Entry (such as Idempotent's).
func entriesOf(actual any, matcherName string) ([]sim.Entry, string, error) {
	switch a := actual.(type) {
	case *sim.World:
		if a == nil {
			return nil, "", fmt.Errorf("%s: the world is nil", matcherName)
		}
		return a.Ledger().Entries(), "the world's ledger", nil
	case *sim.Ledger:
		if a == nil {
			return nil, "", fmt.Errorf("%s: the ledger is nil", matcherName)
		}
		return a.Entries(), "the ledger", nil
	case []sim.Entry:
		return a, fmt.Sprintf("the %d ledger entries", len(a)), nil
	}
	return nil, "", fmt.Errorf("%s expects a *sim.World, a *sim.Ledger or []sim.Entry, got %T", matcherName, actual)
}

// Idempotent returns the ledger entries of a world whose request may be sent
// twice without harm: every one but a non-idempotent method (POST, PATCH…)
// without an Idempotency-Key. Expect(Idempotent(w)).To(HaveLostNothing())
// checks failover for the requests a proxy is allowed to retry.
func Idempotent(w *sim.World) []sim.Entry {
	var out []sim.Entry
	for _, e := range w.Ledger().Entries() {
		if !e.Unsafe {
			out = append(out, e)
		}
	}
	return out
}
