package scenarios

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/server"
)

// newEnv gathers a finished run's figures for the expectations.
func newEnv(w *sim.World, sc *Scenario, rep *loadgen.Report, events []EventRecord) Env {
	led := w.Ledger()
	entries := led.Entries()
	start := led.Start()
	sum := led.Summary()
	weights := serverWeights(sc)
	receipts := map[string][]server.Receipt{}
	for _, n := range w.ServerNames() {
		if s, ok := w.Server(n); ok {
			for _, r := range s.Receipts() {
				if r.ID != "" {
					receipts[n] = append(receipts[n], r)
				}
			}
		}
	}
	env := Env{
		Requests:    rep.Overall.Requests,
		SuccessRate: rep.Overall.SuccessRate(),
		ErrorRate:   1 - rep.Overall.SuccessRate(),
		RPS:         rep.Overall.Rate,
		AskedRate:   rep.Overall.AskedRate,
		Missed:      rep.Overall.Missed(),
		Latency:     latencyView(rep.Overall.Corrected),
		RawLatency:  latencyView(rep.Overall.Raw),
		Ledger: LedgerView{
			Sent: sum.Sent, Answered: sum.Answered, Succeeded: sum.Succeeded, Failed: sum.Failed, Lost: sum.Lost,
			InFlight: sum.InFlight, Duplicated: sum.Duplicated, DuplicatedUnsafe: sum.DuplicatedUnsafe,
			Retried: sum.Duplicated, Misrouted: sum.Misrouted, Unreached: sum.Unreached, Orphans: sum.Orphans,
		},
		Fairness: fairness(led.Counts(0, 0), weights),
	}
	all := window(entries, func(sim.Entry) bool { return true })
	env.Status = all.Status
	env.Errors = func(kind string) int {
		n := 0
		for _, e := range entries {
			if e.Outcome != nil && string(e.Outcome.ErrKind) == kind {
				n++
			}
		}
		return n
	}
	total := 0
	for _, c := range led.Counts(0, 0) {
		total += c
	}
	env.Server = func(name string) ServerView {
		n := led.ServerRequests(name, 0, 0)
		v := ServerView{
			Requests:        n,
			RequestsBetween: func(from, to time.Duration) int { return led.ServerRequests(name, from, to) },
			Answered: func(code int) int {
				if s, ok := w.Server(name); ok {
					return int(s.Stats().ByStatus[code])
				}
				return 0
			},
			SawHeader: func(h string) int { return sawHeader(receipts[name], h) },
			Latency: window(entries, func(e sim.Entry) bool {
				return e.Outcome != nil && e.Outcome.Server == name
			}).Latency,
		}
		if total > 0 {
			v.Share = float64(n) / float64(total)
		}
		return v
	}
	env.Client = func(name string) ClientView {
		win := window(entries, func(e sim.Entry) bool { return e.Client == name })
		answered := map[string]bool{}
		for _, e := range entries {
			if e.Client == name && e.Outcome != nil && e.Outcome.Server != "" {
				answered[e.Outcome.Server] = true
			}
		}
		return ClientView{
			Requests: win.Requests, Succeeded: win.Succeeded, Failed: win.Failed,
			SuccessRate: win.SuccessRate, Latency: win.Latency, Status: win.Status, Servers: len(answered),
		}
	}
	env.Phase = func(name string) PhaseView {
		p, ok := rep.Phase(name)
		if !ok {
			return PhaseView{Errors: func(string) int { return 0 }}
		}
		st := p.Stats
		return PhaseView{
			Requests: st.Requests, SuccessRate: st.SuccessRate(), ErrorRate: 1 - st.SuccessRate(), RPS: st.Rate,
			AskedRate: st.AskedRate, Missed: st.Missed(), Latency: latencyView(st.Corrected), RawLatency: latencyView(st.Raw),
			Errors: func(kind string) int { return int(st.Errors[kind]) },
		}
	}
	env.Between = func(from, to time.Duration) WindowView {
		return window(entries, func(e sim.Entry) bool {
			off := e.Sent.Sub(start)
			return off >= from && off < to
		})
	}
	env.At = func(label string) time.Duration {
		for _, r := range events {
			if r.What == label {
				return r.Applied
			}
		}
		for _, e := range sc.Events {
			if e.Label == label || e.Describe() == label {
				return e.At.D()
			}
		}
		return -1
	}
	env.After = func(label string, d time.Duration) WindowView {
		at := env.At(label)
		if at < 0 {
			return window(nil, nil)
		}
		return env.Between(at, at+d)
	}
	env.SawHeader = func(h string) int {
		n := 0
		for _, rs := range receipts {
			n += sawHeader(rs, h)
		}
		return n
	}
	env.SawHeaderValue = func(h, sub string) int {
		n := 0
		for _, rs := range receipts {
			for _, r := range rs {
				for _, v := range r.Header.Values(h) {
					if strings.Contains(v, sub) {
						n++
						break
					}
				}
			}
		}
		return n
	}
	env.KeyMoves = func(h string) int {
		seen := map[string]map[string]bool{}
		for srv, rs := range receipts {
			for _, r := range rs {
				k := r.Header.Get(h)
				if k == "" {
					continue
				}
				if seen[k] == nil {
					seen[k] = map[string]bool{}
				}
				seen[k][srv] = true
			}
		}
		n := 0
		for _, s := range seen {
			if len(s) > 1 {
				n++
			}
		}
		return n
	}
	env.FairnessBetween = func(from, to time.Duration) float64 { return fairness(led.Counts(from, to), weights) }
	return env
}

func latencyView(l loadgen.Latency) LatencyView {
	return LatencyView{Min: l.Min, Mean: l.Mean, P50: l.P50, P90: l.P90, P99: l.P99, P999: l.P999, Max: l.Max}
}

// window summarises the entries that keep selects.
func window(entries []sim.Entry, keep func(sim.Entry) bool) WindowView {
	var v WindowView
	status := map[int]int{}
	servers := map[string]int{}
	var lat []time.Duration
	for _, e := range entries {
		if !keep(e) {
			continue
		}
		v.Requests++
		if e.Lost() {
			v.Lost++
		}
		if e.Outcome != nil {
			status[e.Outcome.Status]++
			if e.Outcome.ErrKind == "" && e.Outcome.Status < 400 {
				v.Succeeded++
			}
			lat = append(lat, e.Outcome.Latency)
		}
		if e.Failed() {
			v.Failed++
		}
		for _, r := range e.Receipts {
			servers[r.Server]++
		}
	}
	v.SuccessRate = 1
	if v.Requests > 0 {
		v.SuccessRate = float64(v.Succeeded) / float64(v.Requests)
	}
	v.Latency = exactLatency(lat)
	v.Status = func(code int) int { return status[code] }
	v.Server = func(name string) int { return servers[name] }
	return v
}

// exactLatency computes a distribution's summary from every sample.
func exactLatency(lat []time.Duration) LatencyView {
	if len(lat) == 0 {
		return LatencyView{}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration {
		i := int(p*float64(len(lat))+0.5) - 1
		return lat[min(max(i, 0), len(lat)-1)]
	}
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	return LatencyView{
		Min: lat[0], Mean: sum / time.Duration(len(lat)), P50: q(0.50), P90: q(0.90), P99: q(0.99),
		P999: q(0.999), Max: lat[len(lat)-1],
	}
}

func sawHeader(rs []server.Receipt, name string) int {
	key := http.CanonicalHeaderKey(name)
	n := 0
	for _, r := range rs {
		if _, ok := r.Header[key]; ok {
			n++
			continue
		}
		for k := range r.Header {
			if strings.EqualFold(k, name) {
				n++
				break
			}
		}
	}
	return n
}

// fairness is Jain's index of the servers' shares against their weights,
// over the servers that have a weight (every configured server).
func fairness(counts map[string]int, weights map[string]int) float64 {
	return balance.Fairness(counts, weights)
}
