package simtest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/server"
)

// HaveSeenHeader succeeds when at least one request arrived at a server with
// the header name (any value). It takes a *server.Server, a *sim.World (the
// receipts of all its servers) or []server.Receipt. So
// NotTo(HaveSeenHeader("Proxy-Authorization")) says no server ever saw it,
// and its failure lists the requests that carried it; the failure of To
// shows the headers the requests did carry.
func HaveSeenHeader(name string) types.GomegaMatcher {
	return headerMatcher("HaveSeenHeader", "have seen header "+name, name, nil)
}

// HaveSeenHeaderValue succeeds when at least one request arrived with the
// header name and a value that matches value: a string (equal) or a Gomega
// matcher (ContainSubstring("127.0.2.")). Values of a repeated header are
// tried one by one. It takes what HaveSeenHeader takes.
func HaveSeenHeaderValue(name string, value any) types.GomegaMatcher {
	m, ok := value.(types.GomegaMatcher)
	if !ok {
		m = gomega.Equal(value)
	}
	return headerMatcher("HaveSeenHeaderValue", fmt.Sprintf("have seen header %s with a value that matches %v", name, value), name, m)
}

// HaveSeenHeaderOnEvery succeeds when every request that arrived at a
// server carried the header name; the failure lists the ones without it.
func HaveSeenHeaderOnEvery(name string) types.GomegaMatcher {
	return &matcher{want: "have seen header " + name + " on every request", match: func(actual any) (verdict, error) {
		rs, subject, err := receiptsOf(actual, "HaveSeenHeaderOnEvery")
		if err != nil {
			return verdict{}, err
		}
		var without []string
		for _, r := range rs {
			if len(values(r.Header, name)) == 0 {
				without = append(without, receiptText(r))
			}
		}
		v := verdict{ok: len(rs) > 0 && len(without) == 0, subject: subject}
		switch {
		case len(rs) == 0:
			v.observed = "no server received any request"
		case len(without) > 0:
			v.observed = fmt.Sprintf("%d of %d requests arrived without %s: %s", len(without), len(rs), name, listed(without))
		default:
			v.observed = fmt.Sprintf("all %d requests arrived with %s", len(rs), name)
		}
		return v, nil
	}}
}

func headerMatcher(fn, want, name string, value types.GomegaMatcher) types.GomegaMatcher {
	return &matcher{want: want, match: func(actual any) (verdict, error) {
		rs, subject, err := receiptsOf(actual, fn)
		if err != nil {
			return verdict{}, err
		}
		var with []string
		seen := map[string]bool{}
		for _, r := range rs {
			vals := values(r.Header, name)
			for _, val := range vals {
				seen[val] = true
			}
			hit := len(vals) > 0
			if value != nil {
				hit = false
				for _, val := range vals {
					ok, err := value.Match(val)
					if err != nil {
						return verdict{}, fmt.Errorf("%s(%s): %w", fn, name, err)
					}
					hit = hit || ok
				}
			}
			if hit {
				with = append(with, fmt.Sprintf("%s (%s: %s)", receiptText(r), name, strings.Join(vals, ", ")))
			}
		}
		v := verdict{ok: len(with) > 0, subject: subject}
		switch {
		case len(rs) == 0:
			v.observed = "no server received any request"
		case len(with) == 0 && len(seen) > 0:
			v.observed = fmt.Sprintf("none of %d requests matched; %s was seen with %s", len(rs), name, listed(sortedKeys(seen)))
		case len(with) == 0:
			v.observed = fmt.Sprintf("none of %d requests carried %s; the first carried %s",
				len(rs), name, strings.Join(headerNames(rs[0].Header), ", "))
		default:
			v.observed = fmt.Sprintf("%d of %d requests matched", len(with), len(rs))
		}
		v.negObserved = fmt.Sprintf("%d of %d requests carried %s: %s", len(with), len(rs), name, listed(with))
		return v, nil
	}}
}

// receiptsOf reads the receipts of a server, a world's servers (in order of
// arrival), or a list.
func receiptsOf(actual any, fn string) ([]server.Receipt, string, error) {
	switch a := actual.(type) {
	case *server.Server:
		if a == nil {
			return nil, "", fmt.Errorf("%s: the server is nil", fn)
		}
		return a.Receipts(), a.Name(), nil
	case *sim.World:
		if a == nil {
			return nil, "", fmt.Errorf("%s: the world is nil", fn)
		}
		var out []server.Receipt
		for _, n := range a.ServerNames() {
			if s, ok := a.Server(n); ok {
				out = append(out, s.Receipts()...)
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
		return out, "the world's servers", nil
	case []server.Receipt:
		return a, fmt.Sprintf("the %d receipts", len(a)), nil
	}
	return nil, "", fmt.Errorf("%s expects a *server.Server, a *sim.World or []server.Receipt, got %T", fn, actual)
}

// values returns a header's values, whatever the case of its name.
func values(h http.Header, name string) []string {
	if v, ok := h[http.CanonicalHeaderKey(name)]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func receiptText(r server.Receipt) string {
	id := r.ID
	if id == "" {
		id = "(no id) " + r.Method + " " + r.Target
	}
	return id + " at " + r.Server
}

func headerNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
