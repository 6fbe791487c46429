package simtest

import (
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/proxylab/proxylab/sim/client"
)

// BeServedBy succeeds when a client.Outcome (or *client.Outcome) got a
// response from the named simulated server (its X-Sim-Server header). The
// failure says which server answered, or that none did and why.
func BeServedBy(name string) types.GomegaMatcher {
	return &matcher{want: "be served by " + name, match: func(actual any) (verdict, error) {
		var o client.Outcome
		switch a := actual.(type) {
		case client.Outcome:
			o = a
		case *client.Outcome:
			if a == nil {
				return verdict{}, fmt.Errorf("BeServedBy: the outcome is nil")
			}
			o = *a
		default:
			return verdict{}, fmt.Errorf("BeServedBy expects a client.Outcome, got %T", actual)
		}
		v := verdict{ok: o.Server == name, subject: "response " + o.ID}
		req := fmt.Sprintf("%s %s", method(o.Method), o.URL)
		switch {
		case o.ErrKind != client.ErrNone:
			v.observed = fmt.Sprintf("no response to %s: %s (%s) after %s", req, o.ErrKind, o.Err, o.Latency)
		case o.Server == "":
			v.observed = fmt.Sprintf("%s was answered %d by no simulated server (no X-Sim-Server header: the proxy itself answered)", req, o.Status)
		default:
			v.observed = fmt.Sprintf("%s was answered %d by %s", req, o.Status, o.Server)
		}
		return v, nil
	}}
}

func method(m string) string {
	if m == "" {
		return "GET"
	}
	return m
}
