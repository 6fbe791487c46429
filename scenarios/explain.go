package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
)

// DefaultExplainRequests is how many requests Explain sends when
// ExplainOptions.Requests is zero.
const DefaultExplainRequests = 30

// explainTimeout bounds each request of the journeys Explain sends by hand.
const explainTimeout = 5 * time.Second

// The built-in teaching worlds of `proxylab explain forward|reverse`: the two
// drawings, with a proxy pseudonym fixed so that the output is stable.
const (
	explainForwardYAML = `name: explain-forward
about: |
  The forward drawing. cli1..cli3 know the proxy: their HTTP stack is
  configured with its address and credentials, and every request names the
  server it is for in absolute-form (GET http://server1/ HTTP/1.1). The proxy
  checks the credentials, removes them, and fetches the page on their behalf.
  server1 sees the proxy, not the clients.
seed: 1
proxy:
  mode: forward
  auth: [{user: alice, pass: wonderland}]
  connect_ports: [80, 443]
  via: proxylab
servers:
  - {name: server1}
clients:
  count: 3
  auth: "alice:wonderland"
load:
  - {phase: explain, duration: 2s, rate: 50/s}
expect:
  - ledger.lost == 0
`
	explainReverseYAML = `name: explain-reverse
about: |
  The reverse drawing. cli1..cli3 know one address, the proxy's; they do not
  know that server1..server3 exist. The proxy belongs to the servers' side: it
  picks a server for every request (round robin here), rewrites the request
  for it and says who the client was in X-Forwarded-For.
seed: 1
proxy:
  mode: reverse
  balance: round_robin
servers:
  - {name: server1..3}
clients: {count: 3}
load:
  - {phase: explain, duration: 2s, rate: 50/s}
expect:
  - ledger.lost == 0
`
)

// ExplainScenario returns the built-in teaching scenario of a drawing:
// "forward" or "reverse".
func ExplainScenario(drawing string) (*Scenario, error) {
	switch drawing {
	case ModeForward:
		return Parse("explain-forward.yaml", []byte(explainForwardYAML))
	case ModeReverse:
		return Parse("explain-reverse.yaml", []byte(explainReverseYAML))
	}
	return nil, fmt.Errorf("no built-in drawing %q; want forward or reverse", drawing)
}

// ExplainOptions tune Explain.
type ExplainOptions struct {
	// Requests is how many requests are sent one after another before the
	// journeys; zero means DefaultExplainRequests. Sent in sequence, they
	// reach the same servers in the same order on every run.
	Requests int
	// Seed overrides the scenario's seed when not nil.
	Seed *uint64
}

// Explanation is the teaching view of a world: its drawing with per-edge
// counts, how the requests ended, and journeys hop by hop.
type Explanation struct {
	Name     string        `json:"name"`
	About    string        `json:"about,omitempty"`
	Mode     string        `json:"mode"`
	Topology Topology      `json:"topology"`
	Statuses []StatusCount `json:"statuses"`
	Journeys []JourneyView `json:"journeys"`
	// Result is the run's result when a whole scenario was played (ExplainRun).
	Result *Result `json:"result,omitempty"`
}

// StatusCount is how many requests ended one way: a status such as
// "200 OK" or an error kind such as "refused".
type StatusCount struct {
	Status string `json:"status"`
	Count  int    `json:"count"`
}

// Explain builds sc's world, sends opts.Requests requests through it one
// after another (the request mix of its first load phase), counts them on
// every edge, then sends requests by hand on raw connections and records
// their journeys exactly: the bytes the client wrote, the head the server
// received (from its echo endpoint) and the response the client got. A
// forward world also shows a CONNECT tunnel. Counts do not depend on timing.
func Explain(ctx context.Context, sc *Scenario, opts ExplainOptions) (*Explanation, error) {
	if len(sc.Load) == 0 {
		return nil, fmt.Errorf("explain %s: the scenario has no load phase to take requests from", sc.Name)
	}
	n := opts.Requests
	if n <= 0 {
		n = DefaultExplainRequests
	}
	seed := sc.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	var extOut bytes.Buffer
	w, err := buildWorld(ctx, sc, seed, &extOut)
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", sc.Name, err)
	}
	if err := w.Start(ctx); err != nil {
		_ = w.Stop(context.Background())
		return nil, fmt.Errorf("explain %s: start the world: %w", sc.Name, err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(stopCtx)
	}()
	mode := sc.Proxy.Mode
	if sc.Proxy.External != nil {
		mode = sc.Proxy.External.As
	}
	ex := &Explanation{Name: sc.Name, About: sc.About, Mode: mode, Topology: Topology{Mode: mode}}

	d := newDoer(w, sc, seed, nil)
	perClient := map[string]int{}
	statuses := map[string]int{}
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := d.Do(ctx, loadgen.Slot{Phase: sc.Load[0].Phase, Seq: uint64(i), Intended: time.Now()})
		perClient[r.Tags.Client]++
		statuses[statusText(r.Status, r.Err)]++
	}
	counts := w.Ledger().Counts(0, 0)
	for _, c := range sc.ClientNames() {
		ex.Topology.Clients = append(ex.Topology.Clients, Edge{Name: c, Requests: perClient[c]})
	}
	for _, s := range w.ServerNames() {
		ex.Topology.Servers = append(ex.Topology.Servers, Edge{Name: s, Requests: counts[s]})
	}
	for name, ends := range w.LinkNames() {
		ex.Topology.Links = append(ex.Topology.Links, LinkFigures{Name: name, From: ends[0], To: ends[1]})
	}
	ex.Statuses = sortStatuses(statuses)
	ex.Journeys = handJourneys(ctx, w, mode)
	return ex, nil
}

// ExplainRun plays sc as `proxylab run` does (its load, timeline and
// expectations), then explains the result: the drawing with the counts of the
// run and the journey of its first request as traced. Counts depend on timing.
func ExplainRun(ctx context.Context, sc *Scenario, opts Options) (*Explanation, error) {
	if opts.Trace < 1 {
		opts.Trace = 1
	}
	res, err := Run(ctx, sc, opts)
	if err != nil {
		return nil, err
	}
	mode := sc.Proxy.Mode
	if sc.Proxy.External != nil {
		mode = sc.Proxy.External.As
	}
	t := TopologyOf(res)
	t.Mode = mode
	ex := &Explanation{Name: sc.Name, About: sc.About, Mode: mode, Topology: t, Result: res}
	statuses := map[string]int{}
	if res.Load != nil {
		for _, ph := range res.Load.Phases {
			for k, st := range ph.ByStatus {
				statuses[k] += int(st.Requests)
			}
		}
	}
	ex.Statuses = sortStatuses(statuses)
	for _, j := range res.Journeys {
		ex.Journeys = append(ex.Journeys, JourneyView{
			Title: "request " + j.ID + " from " + j.Client + " (as traced during the run)",
			Hops:  JourneyHops(j, "proxy"), Error: j.Error,
		})
	}
	return ex, nil
}

func statusText(code int, errKind string) string {
	if errKind != "" {
		return "error: " + errKind
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

func sortStatuses(m map[string]int) []StatusCount {
	out := make([]StatusCount, 0, len(m))
	for k, v := range m {
		out = append(out, StatusCount{Status: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Status < out[j].Status })
	return out
}

// handJourneys sends the journeys' requests from the first client.
func handJourneys(ctx context.Context, w *sim.World, mode string) []JourneyView {
	clients := w.Clients()
	servers := w.ServerNames()
	if len(clients) == 0 || len(servers) == 0 || w.Proxy() == nil {
		return nil
	}
	c := clients[0]
	switch mode {
	case ModeForward:
		return []JourneyView{forwardJourney(ctx, c, servers[0]), connectJourney(ctx, c, servers[0])}
	case ModeReverse:
		return []JourneyView{reverseJourney(ctx, w, c)}
	}
	return nil
}

// head is a request head a client writes by hand.
type head struct {
	line   string
	fields []Field
}

func (h head) message() Message { return Message{Line: h.line, Header: h.fields} }

func (h head) bytes() []byte {
	var b strings.Builder
	b.WriteString(h.line + "\r\n")
	for _, f := range h.fields {
		b.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func proxyAuth(c *client.Client) []Field {
	p := c.Config().Proxy
	if p == nil || p.User == nil {
		return nil
	}
	pass, _ := p.User.Password()
	cred := base64.StdEncoding.EncodeToString([]byte(p.User.Username() + ":" + pass))
	return []Field{{"Proxy-Authorization", "Basic " + cred}}
}

// dialFrom opens a connection from the client's own address to addr.
func dialFrom(ctx context.Context, c *client.Client, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: explainTimeout}
	if ip := net.ParseIP(c.Config().SourceIP); ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(explainTimeout))
	return conn, nil
}

// exchange writes h on conn and reads the response head; an echo body is
// decoded into the head the server received.
func exchange(br *bufio.Reader, conn net.Conn, h head, method string) (*Message, *Message, error) {
	if _, err := conn.Write(h.bytes()); err != nil {
		return nil, nil, fmt.Errorf("send: %w", err)
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, nil, fmt.Errorf("read the response: %w", err)
	}
	got := &Message{Line: resp.Proto + " " + resp.Status, Header: fields(resp.Header)}
	if method == http.MethodConnect && resp.StatusCode == http.StatusOK {
		return got, nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return got, nil, fmt.Errorf("read the body: %w", err)
	}
	if resp.Header.Get(client.ServerHeader) == "" {
		return got, nil, nil
	}
	var e server.Echo
	if json.Unmarshal(body, &e) != nil {
		return got, nil, nil
	}
	rec := &Message{Line: e.Method + " " + e.Target + " " + e.Proto}
	for _, f := range e.Headers {
		rec.Header = append(rec.Header, Field{f.Name, f.Value})
	}
	return got, rec, nil
}

func forwardJourney(ctx context.Context, c *client.Client, srv string) JourneyView {
	id := c.NextID()
	v := JourneyView{Title: "request " + id + " from " + c.Name() + ": plain HTTP through the forward proxy"}
	h := head{line: "GET http://" + srv + server.PathEcho + " HTTP/1.1", fields: []Field{
		{"Host", srv}, {"User-Agent", "proxylab-explain"}, {"Accept", "*/*"},
	}}
	h.fields = append(h.fields, proxyAuth(c)...)
	h.fields = append(h.fields, Field{"Proxy-Connection", "Keep-Alive"}, Field{client.IDHeader, id})
	return oneTrip(ctx, c, c.Config().Proxy.Host, h, "proxy", srv, v)
}

func reverseJourney(ctx context.Context, w *sim.World, c *client.Client) JourneyView {
	id := c.NextID()
	v := JourneyView{Title: "request " + id + " from " + c.Name() + ": through the reverse proxy"}
	addr := strings.TrimPrefix(w.TargetURL(c.Name(), ""), "http://")
	h := head{line: "GET " + server.PathEcho + " HTTP/1.1", fields: []Field{
		{"Host", "shop.example"}, {"User-Agent", "proxylab-explain"}, {"Accept", "*/*"},
		{"Connection", "keep-alive"}, {client.IDHeader, id},
	}}
	return oneTrip(ctx, c, addr, h, "proxy", "", v)
}

// oneTrip sends h to addr and records the three hops.
func oneTrip(ctx context.Context, c *client.Client, addr string, h head, proxy, srv string, v JourneyView) JourneyView {
	sent := h.message()
	v.Hops = append(v.Hops, Hop{From: c.Name(), To: proxy, Title: "the bytes " + c.Name() + " wrote", Head: sent})
	conn, err := dialFrom(ctx, c, addr)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	defer conn.Close()
	got, rec, err := exchange(bufio.NewReader(conn), conn, h, http.MethodGet)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	if rec != nil {
		if s := got.Get(client.ServerHeader); s != "" {
			srv = s
		}
		v.Hops = append(v.Hops, Hop{From: proxy, To: srv, Title: "as " + srv + " received it", Head: rec.inOrderOf(sent),
			Before: &sent, Notes: ChangeNotes(sent, *rec)})
	} else {
		v.Hops = append(v.Hops, Hop{From: proxy, To: "(no server)", Title: "the proxy answered itself"})
	}
	from := orDash(srv) + " ──▶ " + proxy
	if rec == nil {
		from = proxy
	}
	v.Hops = append(v.Hops, Hop{From: from, To: c.Name(), Title: "the response as " + c.Name() + " got it",
		Head: *got, Notes: ResponseNotes(*got)})
	return v
}

func connectJourney(ctx context.Context, c *client.Client, srv string) JourneyView {
	v := JourneyView{Title: "a CONNECT tunnel from " + c.Name() + " to " + srv + ":80"}
	authority := srv + ":80"
	h := head{line: "CONNECT " + authority + " HTTP/1.1", fields: []Field{
		{"Host", authority}, {"User-Agent", "proxylab-explain"},
	}}
	h.fields = append(h.fields, proxyAuth(c)...)
	v.Hops = append(v.Hops, Hop{From: c.Name(), To: "proxy", Title: "the bytes " + c.Name() + " wrote", Head: h.message(),
		Notes: []string{"CONNECT asks the proxy for a raw TCP connection to " + authority + "; what follows is none of its business"}})
	conn, err := dialFrom(ctx, c, c.Config().Proxy.Host)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	got, _, err := exchange(br, conn, h, http.MethodConnect)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	v.Hops = append(v.Hops, Hop{From: "proxy", To: c.Name(), Title: "the proxy's answer", Head: *got,
		Notes: []string{"the proxy dialled " + authority + " first and answers 200 only once the connection is up; from now on it copies bytes both ways"}})
	if !strings.Contains(got.Line, " 200 ") {
		return v
	}
	id := c.NextID()
	inner := head{line: "GET " + server.PathEcho + " HTTP/1.1", fields: []Field{
		{"Host", srv}, {"User-Agent", "proxylab-explain"}, {"Accept", "*/*"}, {client.IDHeader, id},
	}}
	sent := inner.message()
	v.Hops = append(v.Hops, Hop{From: c.Name(), To: srv, Title: "inside the tunnel: request " + id, Head: sent})
	resp, rec, err := exchange(br, conn, inner, http.MethodGet)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	if rec != nil {
		notes := ChangeNotes(sent, *rec)
		if len(notes) == 0 {
			notes = []string{"byte for byte what " + c.Name() + " wrote: no Via, no X-Forwarded-For; with https these bytes would be encrypted and the proxy could not read them either"}
		}
		v.Hops = append(v.Hops, Hop{From: "tunnel", To: srv, Title: "as " + srv + " received it", Head: rec.inOrderOf(sent), Before: &sent, Notes: notes})
	}
	v.Hops = append(v.Hops, Hop{From: srv, To: c.Name(), Title: "the response, through the tunnel", Head: *resp})
	return v
}

// WriteText prints the explanation: the about text, the drawing with its
// counts, how the requests ended, the verdict of a played scenario, and
// every journey.
func (e *Explanation) WriteText(w io.Writer, st TextStyle) error {
	fmt.Fprintf(w, "%s (%s)\n", st.paint(ansiBold, e.Name), e.Mode)
	if e.About != "" {
		for _, l := range strings.Split(strings.TrimSpace(e.About), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, DrawTopology(e.Topology))
	fmt.Fprintln(w)
	total := 0
	var parts []string
	for _, s := range e.Statuses {
		total += s.Count
		parts = append(parts, fmt.Sprintf("%d × %s", s.Count, s.Status))
	}
	fmt.Fprintf(w, "%d requests: %s\n", total, strings.Join(parts, ", "))
	fmt.Fprintln(w, "the numbers on the edges are requests: sent by each client, received by each server")
	if e.Result != nil {
		fmt.Fprintln(w)
		if err := e.Result.WriteText(w); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	for _, j := range e.Journeys {
		if err := WriteJourneyView(w, j, st); err != nil {
			return err
		}
	}
	return nil
}
