package proxy

import (
	"net/http"
	"strings"
)

// hopHeaders are the hop-by-hop headers of RFC 9110 §7.6.1 plus the legacy and
// HTTP/2 ones that must never cross a proxy.
var hopHeaders = []string{
	"Connection",
	"Proxy-Connection", // non-standard, sent by old clients
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",      // kept as "trailers" only, see RemoveHopByHop
	"Trailer", // not Trailers: the request's own trailers are kept
	"Transfer-Encoding",
	"Upgrade",
	"Http2-Settings",
}

// RemoveHopByHop deletes from h every hop-by-hop header: those listed in
// Connection, Connection itself, Proxy-Connection, Keep-Alive,
// Proxy-Authenticate, Proxy-Authorization, Trailer, Transfer-Encoding,
// Upgrade and HTTP2-Settings. TE is kept only when it asks for "trailers"
// (then it becomes exactly "TE: trailers"). A caller that forwards an upgrade
// re-adds "Connection: Upgrade" and the Upgrade value itself, never for h2c.
func RemoveHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	trailers := false
	for _, v := range h["Te"] {
		for t := range strings.SplitSeq(v, ",") {
			if t, _, _ = strings.Cut(t, ";"); strings.EqualFold(strings.TrimSpace(t), "trailers") {
				trailers = true
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
	if trailers {
		h["Te"] = []string{"trailers"}
	}
}

// UpgradeType returns the protocol a request or response asks to switch to,
// or "" when Connection does not list "upgrade".
func UpgradeType(h http.Header) string {
	if !headerHasToken(h, "Connection", "upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// IsH2CUpgrade reports whether h asks for the cleartext HTTP/2 upgrade
// (Upgrade: h2c), which a proxy must never forward (golang/go#80416).
func IsH2CUpgrade(h http.Header) bool {
	for _, v := range h["Upgrade"] {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "h2c") {
				return true
			}
		}
	}
	return false
}

// StripH2CUpgrade removes an "Upgrade: h2c" request, HTTP2-Settings and their
// Connection tokens from h, leaving the rest of the request intact.
func StripH2CUpgrade(h http.Header) {
	if !IsH2CUpgrade(h) && h.Get("Http2-Settings") == "" {
		return
	}
	delete(h, "Upgrade")
	delete(h, "Http2-Settings")
	var keep []string
	for _, v := range h["Connection"] {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" || strings.EqualFold(t, "upgrade") || strings.EqualFold(t, "http2-settings") {
				continue
			}
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(keep, ", ")}
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
