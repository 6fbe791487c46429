package scenarios

import (
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Hop is one leg of a request's journey: a head as it crossed one edge. With
// Before set, every line is marked against the head of the earlier leg: +
// added, − removed, ~ changed (with what it was); Notes say in plain words
// what the proxy did and why.
type Hop struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Title says what the head is, such as "as cli1 sent it".
	Title  string   `json:"title,omitempty"`
	Head   Message  `json:"head"`
	Before *Message `json:"-"`
	Notes  []string `json:"notes,omitempty"`
}

// JourneyView is a titled list of hops, with an error when the trip failed.
type JourneyView struct {
	Title string `json:"title"`
	Hops  []Hop  `json:"hops"`
	Error string `json:"error,omitempty"`
}

// TextStyle tunes text output: Color paints marks and titles with ANSI
// colours (the CLI sets it only on a terminal).
type TextStyle struct {
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

func (s TextStyle) paint(code, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return code + text + ansiReset
}

// JourneyHops turns a traced journey into hops: client → proxy as sent,
// proxy → server as received (marked against what was sent), and the
// response on its way back.
func JourneyHops(j Journey, proxy string) []Hop {
	j.Sent = oneHost(j.Sent)
	if hops, ok := tunnelHops(j, proxy); ok {
		return hops
	}
	hops := []Hop{{From: j.Client, To: proxy, Title: "as " + j.Client + " sent it", Head: j.Sent}}
	from := proxy
	if j.Received != nil {
		sent := j.Sent
		hops = append(hops, Hop{From: proxy, To: j.Server, Title: "as " + j.Server + " received it",
			Head: j.Received.inOrderOf(sent), Before: &sent, Notes: ChangeNotes(j.Sent, *j.Received)})
		if j.Response != nil && j.Response.Get("X-Sim-Server") != "" {
			from = j.Server + " ──▶ " + proxy
		}
	} else {
		hops = append(hops, Hop{From: proxy, To: "(no server)", Title: "no server received it"})
	}
	if j.Response != nil {
		hops = append(hops, Hop{From: from, To: j.Client,
			Title: "the response as " + j.Client + " got it", Head: *j.Response, Notes: ResponseNotes(*j.Response)})
	}
	return hops
}

// oneHost keeps a single Host line, the last one given, where the first was:
// a request header Host overrides the URL's host on the wire, but a traced
// head may list both.
func oneHost(m Message) Message {
	first, last := -1, -1
	for i, f := range m.Header {
		if strings.EqualFold(f.Name, "Host") {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first == last {
		return m
	}
	out := Message{Line: m.Line}
	for i, f := range m.Header {
		switch {
		case i == first:
			out.Header = append(out.Header, Field{Name: "Host", Value: m.Header[last].Value})
		case strings.EqualFold(f.Name, "Host"):
		default:
			out.Header = append(out.Header, f)
		}
	}
	return out
}

// tunnelHops renders a traced https request through a forward proxy as what
// goes on the wire: a CONNECT for the host and port, then the request inside
// the tunnel, which the proxy cannot read.
func tunnelHops(j Journey, proxy string) ([]Hop, bool) {
	method, rest, _ := strings.Cut(j.Sent.Line, " ")
	target, proto, _ := strings.Cut(rest, " ")
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "https" || method == "CONNECT" {
		return nil, false
	}
	authority := u.Host
	if u.Port() == "" {
		authority += ":443"
	}
	connect := Message{Line: "CONNECT " + authority + " " + proto, Header: []Field{{"Host", authority}}}
	inner := Message{Line: method + " " + u.RequestURI() + " " + proto}
	for _, f := range j.Sent.Header {
		if strings.EqualFold(f.Name, "Proxy-Authorization") {
			connect.Header = append(connect.Header, f)
			continue
		}
		inner.Header = append(inner.Header, f)
	}
	hops := []Hop{
		{From: j.Client, To: proxy, Title: j.Client + " asks for a tunnel: https through a proxy", Head: connect,
			Notes: []string{"CONNECT names only the host and port; the request itself goes inside the tunnel, encrypted"}},
		{From: j.Client, To: u.Hostname(), Title: "then inside the tunnel, once open, after the TLS handshake", Head: inner},
	}
	if j.Received != nil {
		sent := inner
		hops = append(hops, Hop{From: "tunnel", To: j.Server, Title: "as " + j.Server + " received it",
			Head: j.Received.inOrderOf(sent), Before: &sent, Notes: ChangeNotes(inner, *j.Received)})
	}
	if j.Response != nil {
		hops = append(hops, Hop{From: orDash(j.Server), To: j.Client, Title: "the response as " + j.Client + " got it",
			Head: *j.Response, Notes: ResponseNotes(*j.Response)})
	}
	return hops, true
}

// WriteJourney prints one request's trip hop by hop: as the client sent it,
// as the server received it (lines the proxy added marked +, removed marked
// −, changed marked ~), and the response on its way back.
func WriteJourney(w io.Writer, j Journey, proxy string) error {
	v := JourneyView{Title: "request " + j.ID + " from " + j.Client, Hops: JourneyHops(j, proxy), Error: j.Error}
	return WriteJourneyView(w, v, TextStyle{})
}

// WriteJourneyView prints a journey's hops with their marks and notes.
func WriteJourneyView(w io.Writer, v JourneyView, st TextStyle) error {
	fmt.Fprintf(w, "%s\n", st.paint(ansiBold, "── "+v.Title+" ──"))
	for _, h := range v.Hops {
		line := h.From + " ──▶ " + h.To
		if h.Title != "" {
			line += "   " + st.paint(ansiDim, "("+h.Title+")")
		}
		fmt.Fprintf(w, "%s\n", st.paint(ansiCyan, h.From+" ──▶ "+h.To)+strings.TrimPrefix(line, h.From+" ──▶ "+h.To))
		if h.Head.Line != "" {
			writeHead(w, "    ", h.Head, h.Before, st)
		}
		for _, n := range h.Notes {
			fmt.Fprintf(w, "    %s %s\n", st.paint(ansiYellow, "»"), n)
		}
	}
	if v.Error != "" {
		fmt.Fprintf(w, "    %s %s\n", st.paint(ansiRed, "error:"), v.Error)
	}
	_, err := fmt.Fprintln(w)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeHead prints a head; with before, lines are marked against it.
func writeHead(w io.Writer, indent string, m Message, before *Message, st TextStyle) {
	sign := func(s string) string {
		switch s {
		case "+":
			return st.paint(ansiGreen, s)
		case "−":
			return st.paint(ansiRed, s)
		case "~":
			return st.paint(ansiYellow, s)
		}
		return s
	}
	if before != nil && before.Line != m.Line {
		fmt.Fprintf(w, "%s%s %s\n", indent, sign("~"), m.Line)
		fmt.Fprintf(w, "%s  %s\n", indent, st.paint(ansiDim, "(was "+before.Line+")"))
	} else {
		fmt.Fprintf(w, "%s  %s\n", indent, m.Line)
	}
	seen := map[string]bool{}
	for _, f := range m.Header {
		mark := " "
		was := ""
		if before != nil {
			switch {
			case !has(*before, f.Name):
				mark = "+"
			case before.Get(f.Name) != f.Value:
				mark, was = "~", before.Get(f.Name)
			}
		}
		seen[strings.ToLower(f.Name)] = true
		fmt.Fprintf(w, "%s%s %s: %s\n", indent, sign(mark), f.Name, f.Value)
		if was != "" {
			fmt.Fprintf(w, "%s  %s\n", indent, st.paint(ansiDim, "(was "+was+")"))
		}
	}
	if before == nil {
		return
	}
	hostKnown := has(m, "Host")
	for _, f := range before.Header {
		if seen[strings.ToLower(f.Name)] || (!hostKnown && strings.EqualFold(f.Name, "Host")) {
			continue
		}
		fmt.Fprintf(w, "%s%s %s: %s\n", indent, sign("−"), f.Name, f.Value)
	}
}

func has(m Message, name string) bool {
	for _, f := range m.Header {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// hopByHop are the headers that describe one connection, not the request;
// a proxy removes them (RFC 9110 §7.6.1). Proxy-Connection is the old
// non-standard spelling some clients still send.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}

// ChangeNotes says in plain words what a proxy changed between the head a
// client sent and the head a server received.
func ChangeNotes(sent, got Message) []string {
	var notes []string
	_, st, _ := strings.Cut(sent.Line, " ")
	_, gt, _ := strings.Cut(got.Line, " ")
	st, _, _ = strings.Cut(st, " ")
	gt, _, _ = strings.Cut(gt, " ")
	if st != gt {
		if u, err := url.Parse(st); err == nil && u.IsAbs() && !strings.Contains(gt, "://") {
			notes = append(notes, fmt.Sprintf("absolute-form → origin-form: the client named the whole URL %s for the proxy; the server gets only the path %s (and Host: %s)", st, gt, u.Host))
		} else {
			notes = append(notes, fmt.Sprintf("the request target changed from %s to %s", st, gt))
		}
	}
	if !has(sent, "Via") && has(got, "Via") {
		notes = append(notes, "Via added: the proxy records that the request passed through it ("+got.Get("Via")+")")
	}
	if xff := got.Get("X-Forwarded-For"); xff != "" && xff != sent.Get("X-Forwarded-For") {
		if old := sent.Get("X-Forwarded-For"); old != "" {
			notes = append(notes, fmt.Sprintf("X-Forwarded-For: the client claimed %s; the server got %s", old, xff))
		} else {
			notes = append(notes, "X-Forwarded-For added: the client's address as the proxy saw it on the socket ("+xff+")")
		}
	}
	if !has(sent, "Forwarded") && has(got, "Forwarded") {
		notes = append(notes, "Forwarded added: the standard (RFC 7239) form of the same facts")
	}
	if has(sent, "Proxy-Authorization") && !has(got, "Proxy-Authorization") {
		notes = append(notes, "Proxy-Authorization removed: the credentials were for the proxy, which checked them; they never travel further")
	}
	var dropped []string
	for _, h := range hopByHop {
		if has(sent, h) && !has(got, h) {
			dropped = append(dropped, h)
		}
	}
	if len(dropped) > 0 {
		notes = append(notes, strings.Join(dropped, ", ")+" removed: hop-by-hop headers describe one connection, not the request, so a proxy does not pass them on")
	}
	if sh, gh := sent.Get("Host"), got.Get("Host"); sh != "" && gh != "" && sh != gh {
		notes = append(notes, fmt.Sprintf("Host changed from %s to %s: the proxy opened its own connection to the server", sh, gh))
	}
	return notes
}

// ResponseNotes says what a response's proxy headers mean.
func ResponseNotes(m Message) []string {
	var notes []string
	if v := m.Get("Proxy-Status"); v != "" {
		notes = append(notes, "Proxy-Status: the proxy answered itself and says why (RFC 9209)")
	}
	if m.Get("X-Sim-Server") == "" && m.Get("Proxy-Status") == "" && strings.Contains(m.Line, " 407 ") {
		notes = append(notes, "407: the proxy wants credentials (Proxy-Authenticate) before it does anything")
	}
	if v := m.Get("X-Proxylab-Error"); v != "" {
		notes = append(notes, "X-Proxylab-Error: "+v+": the proxy answered itself, and this is the failure it met upstream")
	}
	if v := m.Get("X-Sim-Server"); v != "" {
		notes = append(notes, "X-Sim-Server: "+v+" answered (the simulated server's own header)")
		if via := m.Get("Via"); via != "" {
			notes = append(notes, "Via on the response: the proxy marks the way back too ("+via+")")
		}
	}
	return notes
}
