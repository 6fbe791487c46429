package simtest

import (
	"fmt"
	"sort"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/proxylab/proxylab/sim"
)

// ServerTraffic names one server's traffic in a ledger, for
// ReceiveNoTrafficBetween. Make one with Server or ServerIn.
type ServerTraffic struct {
	Ledger *sim.Ledger
	Name   string
}

// Server names a server's traffic in a world's ledger.
func Server(w *sim.World, name string) ServerTraffic {
	return ServerTraffic{Ledger: w.Ledger(), Name: name}
}

// ServerIn names a server's traffic in a ledger.
func ServerIn(l *sim.Ledger, name string) ServerTraffic {
	return ServerTraffic{Ledger: l, Name: name}
}

// ReceiveNoTrafficBetween succeeds when a server (a ServerTraffic) received
// no request within [from, to) counted from the ledger's start — the start of
// the load when Drive or a scenario run drove it; to <= 0 means "until now".
// The failure lists the requests that arrived in the window, with their
// arrival offsets; the negated failure says how much the server got in all.
func ReceiveNoTrafficBetween(from, to time.Duration) types.GomegaMatcher {
	window := fmt.Sprintf("[%s, %s)", from, to)
	if to <= 0 {
		window = fmt.Sprintf("[%s, now)", from)
	}
	return &matcher{want: "receive no traffic within " + window, match: func(actual any) (verdict, error) {
		st, ok := actual.(ServerTraffic)
		if !ok {
			return verdict{}, fmt.Errorf("ReceiveNoTrafficBetween expects a simtest.ServerTraffic (simtest.Server(world, name)), got %T", actual)
		}
		if st.Ledger == nil {
			return verdict{}, fmt.Errorf("ReceiveNoTrafficBetween: the ledger of %s is nil", st.Name)
		}
		start := st.Ledger.Start()
		type arrival struct {
			id string
			at time.Duration
		}
		var in []arrival
		total := 0
		for _, e := range st.Ledger.Entries() {
			for _, r := range e.Receipts {
				if r.Server != st.Name {
					continue
				}
				total++
				off := r.At.Sub(start)
				if off >= from && (to <= 0 || off < to) {
					in = append(in, arrival{id: e.ID, at: off})
				}
			}
		}
		sort.Slice(in, func(i, j int) bool { return in[i].at < in[j].at })
		items := make([]string, len(in))
		for i, a := range in {
			items[i] = fmt.Sprintf("%s at %s", a.id, a.at.Round(time.Millisecond))
		}
		v := verdict{ok: len(in) == 0, subject: st.Name}
		if v.ok {
			v.observed = fmt.Sprintf("%s received none of its %d requests within %s", st.Name, total, window)
		} else {
			v.observed = fmt.Sprintf("%s received %d requests within %s (of %d in all): %s",
				st.Name, len(in), window, total, listed(items))
		}
		return v, nil
	}}
}
