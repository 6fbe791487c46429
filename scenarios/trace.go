package scenarios

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/client"
)

// Field is one header line.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Message is a request or response head: its first line and header lines.
type Message struct {
	Line   string  `json:"line"`
	Header []Field `json:"header"`
}

// Get returns the first value of a header, or "".
func (m Message) Get(name string) string {
	for _, f := range m.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Journey is one request's trip: as the client sent it, as the server
// received it (after the proxy), and the response as the client got it.
type Journey struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	// Sent is the head the client's HTTP stack wrote (reconstructed the way
	// Go's transport writes it: absolute-form to a forward proxy).
	Sent Message `json:"sent"`
	// Received is the head the server saw; nil when no server got it.
	Received *Message `json:"received,omitempty"`
	Server   string   `json:"server,omitempty"`
	Response *Message `json:"response,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// tracer keeps the journeys of the first n requests.
type tracer struct {
	n       int
	forward bool

	mu       sync.Mutex
	journeys []*Journey
	byID     map[string]*Journey
}

func newTracer(n int, forward bool) *tracer {
	if n <= 0 {
		return nil
	}
	return &tracer{n: n, forward: forward, byID: map[string]*Journey{}, journeys: make([]*Journey, n)}
}

// sent records the request of schedule slot seq, if it is one of the first n.
func (t *tracer) sent(seq uint64, c *client.Client, req client.Request) {
	if seq >= uint64(t.n) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	j := &Journey{ID: req.ID, Client: c.Name(), Sent: clientHead(c, req, t.forward)}
	t.journeys[seq] = j
	t.byID[req.ID] = j
}

func (t *tracer) done(o client.Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.byID[o.ID]
	if !ok {
		return
	}
	if o.ErrKind != client.ErrNone {
		j.Error = string(o.ErrKind) + ": " + o.Err
	}
	if o.Status > 0 {
		m := Message{Line: o.Proto + " " + strconv.Itoa(o.Status) + " " + http.StatusText(o.Status)}
		m.Header = fields(o.Header)
		j.Response = &m
	}
}

// finish joins the journeys with what the servers received.
func (t *tracer) finish(w *sim.World) []Journey {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, name := range w.ServerNames() {
		s, _ := w.Server(name)
		for _, r := range s.Receipts() {
			j, ok := t.byID[r.ID]
			if !ok || j.Received != nil {
				continue
			}
			m := Message{Line: r.Method + " " + r.Target + " " + r.Proto}
			if r.Host != "" {
				m.Header = append(m.Header, Field{"Host", r.Host})
			}
			m.Header = append(m.Header, fields(r.Header)...)
			j.Received, j.Server = &m, r.Server
		}
	}
	out := make([]Journey, 0, len(t.journeys))
	for _, j := range t.journeys {
		if j != nil {
			out = append(out, *j)
		}
	}
	return out
}

// clientHead rebuilds the head Go's transport writes for req.
func clientHead(c *client.Client, req client.Request, forward bool) Message {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return Message{Line: method + " " + req.URL + " HTTP/1.1"}
	}
	target := u.RequestURI()
	if forward {
		target = u.String()
	}
	m := Message{Line: method + " " + target + " HTTP/1.1"}
	host := u.Host
	if h := req.Header.Get("Host"); h != "" {
		host = h // the client sends the Host it was told to, not the URL's
	}
	m.Header = append(m.Header, Field{"Host", host}, Field{"User-Agent", "Go-http-client/1.1"})
	if len(req.Body) > 0 {
		m.Header = append(m.Header, Field{"Content-Length", strconv.Itoa(len(req.Body))})
	}
	if p := c.Config().Proxy; forward && p != nil && p.User != nil {
		m.Header = append(m.Header, Field{"Proxy-Authorization", "Basic (" + p.User.Username() + ":…)"})
	}
	if c.Config().DisableKeepAlive {
		m.Header = append(m.Header, Field{"Connection", "close"})
	}
	for _, f := range fields(req.Header) {
		if !strings.EqualFold(f.Name, "Host") {
			m.Header = append(m.Header, f)
		}
	}
	m.Header = append(m.Header, Field{client.IDHeader, req.ID}, Field{"Accept-Encoding", "gzip"})
	return m
}

func fields(h http.Header) []Field {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []Field
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, Field{k, v})
		}
	}
	return out
}

// inOrderOf returns m with its header lines in a stable order for display
// beside sent, the message it was made from: first the names sent had, in
// sent's order, then the names a proxy added, sorted. The order a proxy
// writes header lines in carries no meaning (only lines of one name keep
// theirs, and so they do here), and some proxies write them in map order.
func (m Message) inOrderOf(sent Message) Message {
	rank := make(map[string]int, len(sent.Header))
	for i, f := range sent.Header {
		if _, ok := rank[textproto.CanonicalMIMEHeaderKey(f.Name)]; !ok {
			rank[textproto.CanonicalMIMEHeaderKey(f.Name)] = i
		}
	}
	out := Message{Line: m.Line, Header: slices.Clone(m.Header)}
	slices.SortStableFunc(out.Header, func(a, b Field) int {
		ka, kb := textproto.CanonicalMIMEHeaderKey(a.Name), textproto.CanonicalMIMEHeaderKey(b.Name)
		ra, oka := rank[ka]
		rb, okb := rank[kb]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(ka, kb)
	})
	return out
}
