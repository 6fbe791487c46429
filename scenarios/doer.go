package scenarios

import (
	"bytes"
	"context"
	"net/http"
	"sync"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
)

// doer sends a scenario's requests through the world's clients.
type doer struct {
	world  *sim.World
	sc     *Scenario
	seed   uint64
	phases map[string]PhaseSpec
	trace  *tracer

	mu      sync.Mutex
	servers []string        // the servers a forward world's URLs rotate over now
	bodies  map[Size][]byte // request bodies by size, built once, read-only after
}

var _ loadgen.Doer = (*doer)(nil)

func newDoer(w *sim.World, sc *Scenario, seed uint64, tr *tracer) *doer {
	d := &doer{world: w, sc: sc, seed: seed, phases: map[string]PhaseSpec{}, trace: tr, bodies: map[Size][]byte{}}
	for _, p := range sc.Load {
		d.phases[p.Phase] = p
		for _, r := range p.Requests {
			if r.Body > 0 && d.bodies[r.Body] == nil {
				d.bodies[r.Body] = bytes.Repeat([]byte("p"), int(r.Body))
			}
		}
	}
	d.servers = w.ServerNames()
	return d
}

// serverAdded and serverRemoved keep the rotation of a forward world's URLs current.
func (d *doer) serverAdded(name string) {
	d.mu.Lock()
	d.servers = append(d.servers, name)
	d.mu.Unlock()
}

func (d *doer) serverRemoved(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.servers[:0:0]
	for _, s := range d.servers {
		if s != name {
			out = append(out, s)
		}
	}
	d.servers = out
}

// Do picks a client and a request kind for the slot, sends it and reports it.
func (d *doer) Do(ctx context.Context, s loadgen.Slot) loadgen.Result {
	ph := d.phases[s.Phase]
	clients := ph.Clients
	if len(clients) == 0 {
		clients = d.sc.ClientNames()
	}
	cname := clients[s.Seq%uint64(len(clients))]
	rs := pick(ph.Requests, mix(d.seed, s.Seq))
	req := client.Request{Method: rs.Method, URL: d.url(cname, rs, s.Seq), Body: d.bodies[rs.Body]}
	if len(rs.Headers) > 0 {
		req.Header = http.Header{}
		for k, v := range rs.Headers {
			req.Header.Set(k, v)
		}
	}
	c, ok := d.world.Client(cname)
	if !ok {
		return loadgen.Result{Err: loadgen.ErrOther, Tags: loadgen.Tags{Client: cname}}
	}
	req.ID = c.NextID()
	if d.trace != nil {
		d.trace.sent(s.Seq, c, req)
	}
	var out client.Outcome
	if rs.WebSocket > 0 {
		out = d.world.WebSocket(ctx, c, req.URL, rs.WebSocket, req.ID)
	} else {
		out = d.world.DoWith(ctx, c, req)
	}
	if d.trace != nil {
		d.trace.done(out)
	}
	return sim.Result(out)
}

// url builds the URL of one request: a reverse world's proxy address with the
// path; a forward world's URL naming the server.
func (d *doer) url(cname string, rs RequestSpec, seq uint64) string {
	if rs.URL != "" {
		return rs.URL
	}
	path := rs.Path
	if path == "" {
		path = "/"
	}
	p := d.world.Proxy()
	if p != nil && p.Mode() == sim.Reverse {
		return d.world.TargetURL(cname, "") + path
	}
	srv := rs.Server
	if srv == "" {
		d.mu.Lock()
		if len(d.servers) > 0 {
			srv = d.servers[seq%uint64(len(d.servers))]
		}
		d.mu.Unlock()
	}
	return d.world.TargetURL(cname, srv) + path
}

// mix draws the number that picks slot seq's request kind: a function of
// (seed, seq) alone, so the same seed gives the same requests in the same
// order whatever the timing (splitmix64).
func mix(seed, seq uint64) uint64 {
	x := seed ^ (seq+1)*0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// pick chooses a request kind by weight (an empty mix is GET /).
func pick(kinds []RequestSpec, draw uint64) RequestSpec {
	if len(kinds) == 0 {
		return RequestSpec{Method: http.MethodGet, Path: "/"}
	}
	total := 0
	for _, r := range kinds {
		total += weightOf(r)
	}
	n := int(draw % uint64(total))
	for _, r := range kinds {
		if n -= weightOf(r); n < 0 {
			return r
		}
	}
	return kinds[len(kinds)-1]
}

func weightOf(r RequestSpec) int {
	if r.Weight <= 0 {
		return 1
	}
	return r.Weight
}
