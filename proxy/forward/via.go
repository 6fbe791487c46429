package forward

import (
	"net/http"
	"strings"
)

// viaTokens are this proxy's Via hops ("1.1 pseudonym"), built once per
// policy so that adding one to a message costs no allocation when the
// message has no Via of its own: the one-value slices are shared, read
// only (an Add to them allocates a new array).
type viaTokens struct {
	pseudonym     string
	v10, v11, v20 string
	s10, s11, s20 []string
}

func newViaTokens(pseudonym string) viaTokens {
	v := viaTokens{pseudonym: pseudonym,
		v10: "1.0 " + pseudonym, v11: "1.1 " + pseudonym, v20: "2 " + pseudonym}
	v.s10, v.s11, v.s20 = []string{v.v10}, []string{v.v11}, []string{v.v20}
	return v
}

// hop is this proxy's Via entry for a message received as proto
// ("HTTP/1.1", "HTTP/1.0", "HTTP/2.0" or without the "HTTP/" prefix; empty
// means 1.1), as proxy.AddVia writes it.
func (v *viaTokens) hop(proto string) string {
	switch proto {
	case "HTTP/1.1", "1.1", "":
		return v.v11
	case "HTTP/1.0", "1.0":
		return v.v10
	case "HTTP/2.0", "HTTP/2", "2.0", "2":
		return v.v20
	}
	return strings.TrimPrefix(proto, "HTTP/") + " " + v.pseudonym
}

// value is the Via value to send on: h's own Via with this proxy's hop
// appended. A Via that h's Connection field lists is hop-by-hop and left
// out, as proxy.RemoveHopByHop would remove it.
func (v *viaTokens) value(h http.Header, proto string) string {
	hop := v.hop(proto)
	prior := h["Via"]
	if len(prior) == 0 || connectionLists(h, "Via") {
		return hop
	}
	return strings.Join(prior, ", ") + ", " + hop
}

// add appends this proxy's hop to h's Via, as proxy.AddVia does.
func (v *viaTokens) add(h http.Header, proto string) {
	if prior := h["Via"]; len(prior) > 0 {
		h["Via"] = []string{strings.Join(prior, ", ") + ", " + v.hop(proto)}
		return
	}
	switch hop := v.hop(proto); hop {
	case v.v11:
		h["Via"] = v.s11
	case v.v10:
		h["Via"] = v.s10
	case v.v20:
		h["Via"] = v.s20
	default:
		h["Via"] = []string{hop}
	}
}

// connectionLists reports whether h's Connection field names name.
func connectionLists(h http.Header, name string) bool {
	for _, c := range h["Connection"] {
		for t := range strings.SplitSeq(c, ",") {
			if strings.EqualFold(strings.TrimSpace(t), name) {
				return true
			}
		}
	}
	return false
}
