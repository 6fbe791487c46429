package sim

import (
	"context"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim/client"
)

// RequestFunc builds the request that load slot s sends from client c. The
// request's ID may be left empty: the world gives it the client's next id.
type RequestFunc func(s loadgen.Slot, c *client.Client) client.Request

// DefaultRequests is the RequestFunc a nil one stands for: GET / to the
// world's TargetURL — the proxy in a reverse world; in a forward world the
// servers by name, in turn (slot Seq modulo the number of servers).
func (w *World) DefaultRequests(s loadgen.Slot, c *client.Client) client.Request {
	target := ""
	if p := w.Proxy(); p == nil || p.Mode() == Forward {
		if names := w.ServerNames(); len(names) > 0 {
			target = names[s.Seq%uint64(len(names))]
		}
	}
	return client.Request{URL: w.TargetURL(c.Name(), target) + "/"}
}

// worldDoer sends load slots through a world's clients.
type worldDoer struct {
	w  *World
	fn RequestFunc
}

var _ loadgen.Doer = (*worldDoer)(nil)

// Doer returns a loadgen.Doer that sends slot s from the world's clients in
// turn (s.Seq modulo the number of clients), records every request in the
// ledger and tags each result with its client and the server that answered.
// A nil fn means DefaultRequests.
func (w *World) Doer(fn RequestFunc) loadgen.Doer {
	if fn == nil {
		fn = w.DefaultRequests
	}
	return &worldDoer{w: w, fn: fn}
}

// Do sends one slot's request.
func (d *worldDoer) Do(ctx context.Context, s loadgen.Slot) loadgen.Result {
	clients := d.w.Clients()
	if len(clients) == 0 {
		return loadgen.Result{Err: loadgen.ErrOther}
	}
	c := clients[s.Seq%uint64(len(clients))]
	return Result(d.w.DoWith(ctx, c, d.fn(s, c)))
}

// Result turns a client's outcome into the load generator's result, tagged
// with the client and the server that answered.
func Result(out client.Outcome) loadgen.Result {
	return loadgen.Result{
		Start:  out.Start,
		Raw:    out.Latency,
		Status: out.Status,
		Err:    string(out.ErrKind),
		Bytes:  out.Bytes,
		Tags:   loadgen.Tags{Client: out.Client, Server: out.Server},
	}
}

// Drive runs plan against a started world through w.Doer(fn), with no
// timeline (see Play). The ledger's time windows (Ledger.ServerRequests,
// Counts) count from the start of the load, as they do in a scenario run.
func (w *World) Drive(ctx context.Context, plan loadgen.Plan, fn RequestFunc, opts ...loadgen.Option) (*loadgen.Report, error) {
	rep, _, err := w.Play(ctx, plan, w.Doer(fn), nil, nil, opts...)
	return rep, err
}
