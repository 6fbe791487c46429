package scenarios

import (
	"fmt"
	"strings"
)

// Drawing draws a run's topology the way the project's two drawings do, with
// request counts per server.
func Drawing(r *Result) string {
	var b strings.Builder
	clients := r.Clients
	servers := r.Servers
	rows := max(len(clients), len(servers), 1)
	proxy := "proxy (" + r.Mode + ")"
	if r.Mode == ModeNone {
		proxy = "(no proxy)"
	}
	mid := rows / 2
	for i := 0; i < rows; i++ {
		left := ""
		if i < len(clients) {
			left = clients[i]
		}
		center := strings.Repeat(" ", len(proxy)+8)
		if i == mid {
			center = " ──▶ " + proxy + " ──▶"
			center += strings.Repeat(" ", max(0, len(proxy)+8-len([]rune(center))))
		}
		right := ""
		if i < len(servers) {
			s := servers[i]
			right = fmt.Sprintf("%s  %d req", s.Name, s.Requests)
		}
		fmt.Fprintf(&b, "%-6s %s %s\n", left, center, right)
	}
	for _, l := range r.Links {
		fmt.Fprintf(&b, "link %s: %s → %s\n", l.Name, l.From, l.To)
	}
	return b.String()
}
