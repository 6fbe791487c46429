package scenarios

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Captions of the box drawn around the side that owns the proxy.
const (
	CaptionForward = "the clients' side knows the proxy"
	CaptionReverse = "the servers' side owns the proxy"
)

// Topology is what a drawing shows: the clients, the proxy, the servers and
// how many requests crossed each edge.
type Topology struct {
	// Mode is reverse, forward or none; it decides which side is boxed.
	Mode string
	// Proxy labels the proxy node; empty means "proxy".
	Proxy string
	// Clients are the client → proxy edges: requests each client sent.
	Clients []Edge
	// Servers are the proxy → server edges: requests each server received.
	Servers []Edge
	// Links are the fault-injecting links, listed under the drawing.
	Links []LinkFigures
}

// Edge is one node of a side and the requests that crossed its edge; a
// negative count means unknown and is not drawn.
type Edge struct {
	Name     string `json:"name"`
	Requests int    `json:"requests"`
}

// TopologyOf reads a run's topology and per-edge counts from its result: each
// client's requests from the load report, each server's from the ledger.
func TopologyOf(r *Result) Topology {
	t := Topology{Mode: r.Mode, Links: r.Links}
	perClient := map[string]int{}
	known := r.Load != nil
	if known {
		for _, ph := range r.Load.Phases {
			for name, st := range ph.ByClient {
				perClient[name] += int(st.Requests)
			}
		}
	}
	for _, c := range r.Clients {
		n := -1
		if known {
			n = perClient[c]
		}
		t.Clients = append(t.Clients, Edge{Name: c, Requests: n})
	}
	for _, s := range r.Servers {
		t.Servers = append(t.Servers, Edge{Name: s.Name, Requests: s.Requests})
	}
	return t
}

// Drawing draws a run's topology the way the project's two drawings do, with
// request counts on every edge.
func Drawing(r *Result) string { return DrawTopology(TopologyOf(r)) }

// column is one vertical strip of a drawing, a string per row.
type column struct {
	cells  []string
	border bool // a box edge: '│'
	cross  bool // the border is crossed by the proxy's row
}

// DrawTopology draws t with box-drawing characters: clients fan in to the
// proxy, the proxy fans out to the servers, each edge carries its count, and
// a box surrounds the side that owns the proxy (clients and proxy for
// forward, proxy and servers for reverse) with its caption below.
//
//	┌───────────────────────────────────┐
//	│ cli1 ─ 10 ─┐                      │
//	│ cli2 ─ 10 ─┼──▶ proxy ────────────┼─ 30 ──▶ server1
//	│ cli3 ─ 10 ─┘                      │
//	└───────────────────────────────────┘
//	  the clients' side knows the proxy
func DrawTopology(t Topology) string {
	nc, ns := max(len(t.Clients), 1), max(len(t.Servers), 1)
	rows := max(span(nc), span(ns))
	mid := rows / 2
	clientRows := place(len(t.Clients), rows)
	serverRows := place(len(t.Servers), rows)

	proxy := t.Proxy
	if proxy == "" {
		proxy = "proxy"
	}
	if t.Mode == ModeNone {
		proxy = "(no proxy)"
	}
	var cols []column
	add := func(cells []string) { cols = append(cols, column{cells: pad(cells)}) }
	border := func(cross bool) {
		cols = append(cols, column{cells: make([]string, rows), border: true, cross: cross})
	}
	text := func(row int, s string) []string {
		c := make([]string, rows)
		c[row] = s
		return c
	}

	boxed := t.Mode == ModeForward || t.Mode == ModeReverse
	if boxed && t.Mode == ModeForward {
		border(false)
		add(text(mid, " "))
	}
	// Clients and their edges.
	names, edges := make([]string, rows), make([]string, rows)
	cw := countWidth(t.Clients)
	for i, e := range t.Clients {
		r := clientRows[i]
		names[r] = e.Name
		edges[r] = " ─" + count(e.Requests, cw) + "─"
	}
	if len(t.Clients) == 0 {
		names[mid] = "(no clients)"
		edges[mid] = " ─"
	}
	add(names)
	add(fill(edges, '─'))
	add(joiner(clientRows, rows, mid, false))
	add(text(mid, "──"))
	if boxed && t.Mode == ModeReverse {
		border(true)
		add(text(mid, "──"))
	}
	add(text(mid, "▶ "+proxy+" "))
	add(text(mid, "────"))
	if boxed && t.Mode == ModeForward {
		border(true)
		add(text(mid, "─"))
	}
	// Servers and their edges.
	add(joiner(serverRows, rows, mid, true))
	sn := make([]string, rows)
	sw := countWidth(t.Servers)
	for i, e := range t.Servers {
		sn[serverRows[i]] = "─" + count(e.Requests, sw) + "──▶ " + e.Name
	}
	if len(t.Servers) == 0 {
		sn[mid] = "──▶ (no servers)"
	}
	add(sn)
	if boxed && t.Mode == ModeReverse {
		add(text(mid, " "))
		border(false)
	}
	return render(cols, rows, mid, boxed, caption(t.Mode)) + linkLines(t.Links)
}

// span is the rows a side of n nodes takes: an even side leaves the proxy's
// row empty so that its fan stays symmetric.
func span(n int) int {
	if n%2 == 0 {
		return n + 1
	}
	return n
}

// place gives each of n nodes its row among rows, centred on the middle row.
func place(n, rows int) []int {
	mid := rows / 2
	out := make([]int, 0, n)
	half := n / 2
	for i := 0; i < n; i++ {
		off := i - half
		if n%2 == 0 && off >= 0 {
			off++
		}
		out = append(out, mid+off)
	}
	return out
}

// joiner draws the fan between a side's nodes and the proxy's row.
func joiner(at []int, rows, mid int, right bool) []string {
	c := make([]string, rows)
	if len(at) <= 1 {
		c[mid] = "─"
		return c
	}
	top, bottom := at[0], at[len(at)-1]
	node := map[int]bool{}
	for _, r := range at {
		node[r] = true
	}
	for r := top; r <= bottom; r++ {
		switch {
		case r == top && right:
			c[r] = "┌"
		case r == top:
			c[r] = "┐"
		case r == bottom && right:
			c[r] = "└"
		case r == bottom:
			c[r] = "┘"
		case r == mid && node[r]:
			c[r] = "┼"
		case r == mid && right:
			c[r] = "┤"
		case r == mid:
			c[r] = "├"
		case node[r] && right:
			c[r] = "├"
		case node[r]:
			c[r] = "┤"
		default:
			c[r] = "│"
		}
	}
	return c
}

func countWidth(es []Edge) int {
	w := 0
	for _, e := range es {
		if e.Requests >= 0 {
			w = max(w, len(strconv.Itoa(e.Requests)))
		}
	}
	return w
}

// count writes a count centred in dashes, right-aligned to width.
func count(n, width int) string {
	if width == 0 {
		return "──"
	}
	if n < 0 {
		return strings.Repeat("─", width+2)
	}
	s := strconv.Itoa(n)
	return strings.Repeat("─", width-len(s)) + " " + s + " "
}

// pad makes every cell of a column as wide as its widest.
func pad(cells []string) []string {
	w := 0
	for _, s := range cells {
		w = max(w, width(s))
	}
	out := make([]string, len(cells))
	for i, s := range cells {
		out[i] = s + strings.Repeat(" ", w-width(s))
	}
	return out
}

// fill pads the non-empty cells with r instead of spaces, so edges of
// different lengths meet the joiner.
func fill(cells []string, r rune) []string {
	w := 0
	for _, s := range cells {
		w = max(w, width(s))
	}
	out := make([]string, len(cells))
	for i, s := range cells {
		ch := " "
		if s != "" {
			ch = string(r)
		}
		out[i] = s + strings.Repeat(ch, w-width(s))
	}
	return out
}

func width(s string) int { return len([]rune(s)) }

// render lays the columns side by side and draws the box between the two
// border columns with its caption under it.
func render(cols []column, rows, mid int, boxed bool, caption string) string {
	var b strings.Builder
	first, last, at := -1, -1, 0
	var starts []int
	for i, c := range cols {
		starts = append(starts, at)
		if c.border {
			if first < 0 {
				first = i
			}
			last = i
			at++
			continue
		}
		at += width(c.cells[0])
	}
	boxRow := func(left, right string) {
		if !boxed || first < 0 {
			return
		}
		line := strings.Repeat(" ", starts[first]) + left +
			strings.Repeat("─", starts[last]-starts[first]-1) + right
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	boxRow("┌", "┐")
	for r := 0; r < rows; r++ {
		var line strings.Builder
		for _, c := range cols {
			switch {
			case c.border && c.cross && r == mid:
				line.WriteString("┼")
			case c.border:
				line.WriteString("│")
			default:
				line.WriteString(c.cells[r])
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	boxRow("└", "┘")
	if boxed && first >= 0 {
		inner := starts[last] - starts[first] + 1
		lead := starts[first] + max(0, (inner-width(caption))/2)
		b.WriteString(strings.Repeat(" ", lead) + caption + "\n")
	}
	return b.String()
}

func caption(mode string) string {
	switch mode {
	case ModeForward:
		return CaptionForward
	case ModeReverse:
		return CaptionReverse
	}
	return ""
}

func linkLines(links []LinkFigures) string {
	sorted := append([]LinkFigures(nil), links...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b strings.Builder
	for _, l := range sorted {
		fmt.Fprintf(&b, "link %s: %s → %s (fault-injecting)\n", l.Name, l.From, l.To)
	}
	return b.String()
}
