package scenarios

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
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
	servers []string // the servers a forward world's URLs rotate over now
	bodies  map[int64][]byte
}

var _ loadgen.Doer = (*doer)(nil)

func newDoer(w *sim.World, sc *Scenario, seed uint64, tr *tracer) *doer {
	d := &doer{world: w, sc: sc, seed: seed, phases: map[string]PhaseSpec{}, trace: tr, bodies: map[int64][]byte{}}
	for _, p := range sc.Load {
		d.phases[p.Phase] = p
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

func (d *doer) body(n int64) []byte {
	if n <= 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.bodies[n]
	if !ok {
		b = []byte(strings.Repeat("p", int(n)))
		d.bodies[n] = b
	}
	return b
}

// Do picks a client and a request kind for the slot, sends it and reports it.
func (d *doer) Do(ctx context.Context, s loadgen.Slot) loadgen.Result {
	ph := d.phases[s.Phase]
	rng := rand.New(rand.NewPCG(d.seed, s.Seq))
	clients := ph.Clients
	if len(clients) == 0 {
		clients = d.sc.ClientNames()
	}
	cname := clients[s.Seq%uint64(len(clients))]
	rs := pick(ph.Requests, rng)
	req := client.Request{Method: rs.Method, URL: d.url(cname, rs, s.Seq), Body: d.body(int64(rs.Body))}
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
	return loadgen.Result{
		Start:  out.Start,
		Raw:    out.Latency,
		Status: out.Status,
		Err:    string(out.ErrKind),
		Bytes:  out.Bytes,
		Tags:   loadgen.Tags{Client: cname, Server: out.Server},
	}
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

// pick chooses a request kind by weight (an empty mix is GET /).
func pick(mix []RequestSpec, rng *rand.Rand) RequestSpec {
	if len(mix) == 0 {
		return RequestSpec{Method: http.MethodGet, Path: "/"}
	}
	total := 0
	for _, r := range mix {
		total += weightOf(r)
	}
	n := rng.IntN(total)
	for _, r := range mix {
		if n -= weightOf(r); n < 0 {
			return r
		}
	}
	return mix[len(mix)-1]
}

func weightOf(r RequestSpec) int {
	if r.Weight <= 0 {
		return 1
	}
	return r.Weight
}
