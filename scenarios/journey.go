package scenarios

import (
	"fmt"
	"io"
	"strings"
)

// WriteJourney prints one request's trip hop by hop: as the client sent it,
// as the server received it (lines the proxy added marked +, removed marked
// −, changed marked ~), and the response on its way back.
func WriteJourney(w io.Writer, j Journey, proxy string) error {
	fmt.Fprintf(w, "── request %s from %s ──\n", j.ID, j.Client)
	fmt.Fprintf(w, "%s → %s\n", j.Client, proxy)
	writeHead(w, "  ", j.Sent, nil)
	if j.Received != nil {
		fmt.Fprintf(w, "%s → %s\n", proxy, j.Server)
		writeHead(w, "  ", *j.Received, &j.Sent)
	} else {
		fmt.Fprintf(w, "%s → (no server received it)\n", proxy)
	}
	if j.Response != nil {
		fmt.Fprintf(w, "%s ← %s ← %s\n", j.Client, proxy, orDash(j.Server))
		writeHead(w, "  ", *j.Response, nil)
	}
	if j.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", j.Error)
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
func writeHead(w io.Writer, indent string, m Message, before *Message) {
	mark := func(changed bool) string {
		if before == nil {
			return " "
		}
		if changed {
			return "~"
		}
		return " "
	}
	fmt.Fprintf(w, "%s%s %s\n", indent, mark(before != nil && before.Line != m.Line), m.Line)
	seen := map[string]bool{}
	for _, f := range m.Header {
		sign := " "
		if before != nil {
			old := before.Get(f.Name)
			switch {
			case old == "" && !has(*before, f.Name):
				sign = "+"
			case old != f.Value:
				sign = "~"
			}
		}
		seen[strings.ToLower(f.Name)] = true
		fmt.Fprintf(w, "%s%s %s: %s\n", indent, sign, f.Name, f.Value)
	}
	if before == nil {
		return
	}
	for _, f := range before.Header {
		if strings.EqualFold(f.Name, "Host") || seen[strings.ToLower(f.Name)] {
			continue
		}
		fmt.Fprintf(w, "%s− %s: %s\n", indent, f.Name, f.Value)
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
