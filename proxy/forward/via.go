package forward

import (
	"net/http"
	"strings"

	"github.com/proxylab/proxylab/proxy"
)

// viaTokens are this proxy's Via hops ("1.1 pseudonym"), built once per
// policy so that adding one to a message costs one allocation (the field's
// value slice) instead of building the hop each time.
type viaTokens struct {
	pseudonym     string
	v10, v11, v20 string
}

func newViaTokens(pseudonym string) viaTokens {
	return viaTokens{pseudonym: pseudonym,
		v10: "1.0 " + pseudonym, v11: "1.1 " + pseudonym, v20: "2 " + pseudonym}
}

// add appends this proxy's hop to h's Via for a message received as proto,
// as proxy.AddVia does (which it falls back to for other protocols).
func (v *viaTokens) add(h http.Header, proto string) {
	var hop string
	switch proto {
	case "HTTP/1.1", "1.1", "":
		hop = v.v11
	case "HTTP/1.0", "1.0":
		hop = v.v10
	case "HTTP/2.0", "HTTP/2", "2.0", "2":
		hop = v.v20
	}
	if hop == "" || v.pseudonym == "" {
		proxy.AddVia(h, proto, v.pseudonym)
		return
	}
	if prior := h["Via"]; len(prior) > 0 {
		h["Via"] = []string{strings.Join(prior, ", ") + ", " + hop}
		return
	}
	h["Via"] = []string{hop}
}
