package sim

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
)

// Entry is one request as the ledger knows it: sent by a client, perhaps
// received by one or more servers, perhaps answered.
type Entry struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	Method string `json:"method"`
	URL    string `json:"url"`
	// Unsafe is true for a request that must never be served twice: a
	// non-idempotent method without an Idempotency-Key.
	Unsafe bool      `json:"unsafe,omitempty"`
	Sent   time.Time `json:"sent"`
	// Outcome is nil while the request is in flight.
	Outcome  *client.Outcome `json:"outcome,omitempty"`
	Receipts []Receipt       `json:"receipts,omitempty"`
	// Want names the server the request is addressed to, when its URL names one
	// (forward drawing: http://server1/...); empty when any server may answer.
	Want string `json:"want,omitempty"`
}

// Receipt is one arrival of a request at a server.
type Receipt struct {
	Server string    `json:"server"`
	At     time.Time `json:"at"`
}

// Lost reports whether the client got no response at all.
func (e *Entry) Lost() bool { return e.Outcome == nil || e.Outcome.ErrKind != client.ErrNone }

// Failed reports whether the request got no successful (non-5xx) response.
func (e *Entry) Failed() bool { return e.Lost() || e.Outcome.Status >= 500 }

// Misrouted reports whether the request was answered by a server that never
// received it, or by another server than the one its URL names.
func (e *Entry) Misrouted() bool {
	if e.Outcome == nil || e.Outcome.Server == "" {
		return false
	}
	if e.Want != "" && e.Outcome.Server != e.Want {
		return true
	}
	for _, r := range e.Receipts {
		if r.Server == e.Outcome.Server {
			return false
		}
	}
	return true
}

// Summary counts the ledger's entries.
type Summary struct {
	Sent      int `json:"sent"`
	Answered  int `json:"answered"`  // got a response (any status)
	Succeeded int `json:"succeeded"` // got a non-5xx response
	Failed    int `json:"failed"`    // lost, or answered 5xx
	// Lost requests got no response at all: a transport error or no outcome.
	Lost     int `json:"lost"`
	InFlight int `json:"in_flight"` // sent, no outcome yet
	// Duplicated requests reached servers more than once (retries do this on purpose).
	Duplicated int `json:"duplicated"`
	// DuplicatedUnsafe counts non-idempotent requests that reached servers more than once: always a bug.
	DuplicatedUnsafe int `json:"duplicated_unsafe"`
	Misrouted        int `json:"misrouted"`
	// Unreached requests never arrived at any server.
	Unreached int `json:"unreached"`
	// Orphans are receipts whose id no client sent (a proxy's own probes, or a forged id).
	Orphans int `json:"orphans"`
}

// Ledger joins client outcomes with server receipts by request id. It is safe
// for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	start   time.Time
	entries map[string]*Entry
	order   []string
	orphans []server.Receipt
	servers map[string]bool
}

// NewLedger returns an empty ledger whose time windows count from start.
func NewLedger(start time.Time) *Ledger {
	return &Ledger{start: start, entries: map[string]*Entry{}, servers: map[string]bool{}}
}

// Reset forgets every entry and receipt and counts windows from start.
func (l *Ledger) Reset(start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.start = start
	l.entries = map[string]*Entry{}
	l.order = nil
	l.orphans = nil
}

// SetStart moves the time windows count from, e.g. to the start of the load.
func (l *Ledger) SetStart(t time.Time) {
	l.mu.Lock()
	l.start = t
	l.mu.Unlock()
}

// Start returns the time windows count from.
func (l *Ledger) Start() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start
}

// KnowServer tells the ledger a server name, so URLs naming it set Entry.Want.
func (l *Ledger) KnowServer(name string) {
	l.mu.Lock()
	l.servers[name] = true
	l.mu.Unlock()
}

// Sent records that a client is sending a request.
func (l *Ledger) Sent(id, clientName, method, rawURL string, h http.Header, at time.Time) {
	e := &Entry{ID: id, Client: clientName, Method: method, URL: rawURL, Sent: at}
	e.Unsafe = !idempotent(method) && h.Get("Idempotency-Key") == ""
	l.mu.Lock()
	defer l.mu.Unlock()
	if u, err := url.Parse(rawURL); err == nil && l.servers[u.Hostname()] {
		e.Want = u.Hostname()
	}
	if _, dup := l.entries[id]; !dup {
		l.order = append(l.order, id)
	}
	l.entries[id] = e
}

// Done records a request's outcome.
func (l *Ledger) Done(o client.Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[o.ID]
	if !ok {
		e = &Entry{ID: o.ID, Client: o.Client, Method: o.Method, URL: o.URL, Sent: o.Start}
		l.entries[o.ID] = e
		l.order = append(l.order, o.ID)
	}
	oc := o
	e.Outcome = &oc
}

// Received records a server's receipt of a request; it fits server.Config.OnRequest.
func (l *Ledger) Received(r server.Receipt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[r.ID]
	if r.ID == "" || !ok {
		l.orphans = append(l.orphans, r)
		return
	}
	e.Receipts = append(e.Receipts, Receipt{Server: r.Server, At: r.At})
}

// Summary counts the entries so far.
func (l *Ledger) Summary() Summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s Summary
	for _, id := range l.order {
		e := l.entries[id]
		s.Sent++
		switch {
		case e.Outcome == nil:
			s.InFlight++
		case e.Outcome.ErrKind == client.ErrNone:
			s.Answered++
		}
		if e.Lost() {
			s.Lost++
		}
		if e.Failed() {
			s.Failed++
		} else {
			s.Succeeded++
		}
		if len(e.Receipts) > 1 {
			s.Duplicated++
			if e.Unsafe {
				s.DuplicatedUnsafe++
			}
		}
		if len(e.Receipts) == 0 {
			s.Unreached++
		}
		if e.Misrouted() {
			s.Misrouted++
		}
	}
	s.Orphans = len(l.orphans)
	return s
}

// Entries returns a copy of every entry in the order they were sent.
func (l *Ledger) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Entry, 0, len(l.order))
	for _, id := range l.order {
		e := *l.entries[id]
		e.Receipts = append([]Receipt(nil), e.Receipts...)
		out = append(out, e)
	}
	return out
}

// Entry returns the entry of one id.
func (l *Ledger) Entry(id string) (Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[id]
	if !ok {
		return Entry{}, false
	}
	c := *e
	c.Receipts = append([]Receipt(nil), e.Receipts...)
	return c, true
}

// ServerRequests counts the receipts of server whose arrival is within
// [from, to) measured from the ledger's start; to <= 0 means "until now".
func (l *Ledger) ServerRequests(name string, from, to time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		for _, r := range e.Receipts {
			if r.Server == name && l.within(r.At, from, to) {
				n++
			}
		}
	}
	return n
}

// Counts returns the receipts per server within [from, to) (to <= 0: until now).
func (l *Ledger) Counts(from, to time.Duration) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, e := range l.entries {
		for _, r := range e.Receipts {
			if l.within(r.At, from, to) {
				out[r.Server]++
			}
		}
	}
	return out
}

// Servers returns the names of the servers that received anything, sorted.
func (l *Ledger) Servers() []string {
	seen := l.Counts(0, 0)
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (l *Ledger) within(at time.Time, from, to time.Duration) bool {
	off := at.Sub(l.start)
	return off >= from && (to <= 0 || off < to)
}

func idempotent(method string) bool {
	switch strings.ToUpper(method) {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}
