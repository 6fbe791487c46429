package proxy

import (
	"net/http"
	"strings"
)

// AddVia appends this proxy's hop to the Via header (RFC 9110 §7.6.3):
// proto is the received protocol ("HTTP/1.1", "HTTP/2.0" or "1.1"), pseudonym
// names the proxy. The "HTTP/" prefix is dropped as the RFC allows. An empty
// pseudonym leaves h alone.
func AddVia(h http.Header, proto, pseudonym string) {
	if pseudonym == "" {
		return
	}
	proto = strings.TrimPrefix(proto, "HTTP/")
	switch proto {
	case "2.0":
		proto = "2"
	case "":
		proto = "1.1"
	}
	hop := proto + " " + pseudonym
	if prior := h["Via"]; len(prior) > 0 {
		h["Via"] = []string{strings.Join(prior, ", ") + ", " + hop}
		return
	}
	h["Via"] = []string{hop}
}

// ViaContains reports whether a hop of the Via header names pseudonym, which
// means the request has already passed through this proxy (a loop).
func ViaContains(h http.Header, pseudonym string) bool {
	if pseudonym == "" {
		return false
	}
	for _, v := range h["Via"] {
		for hop := range strings.SplitSeq(v, ",") {
			hop = strings.TrimSpace(hop)
			// received-protocol SP received-by [ SP comment ]
			_, rest, ok := strings.Cut(hop, " ")
			if !ok {
				continue
			}
			by, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			if strings.EqualFold(by, pseudonym) {
				return true
			}
		}
	}
	return false
}
