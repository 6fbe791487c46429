package reverse

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"

	"github.com/proxylab/proxylab/proxy"
)

// rewrite sets the outbound request's headers: hop-by-hop and h2c upgrade
// headers are already gone or go here, X-Forwarded-* and Forwarded are set
// (replaced for untrusted peers, appended for trusted ones), Via is added.
// The upstream address is set per attempt by the round tripper.
func (st *state) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	out.Host = in.Host
	out.URL.Scheme = "http"
	out.URL.Host = "upstream.invalid" // replaced by each attempt
	proxy.StripH2CUpgrade(out.Header)
	delete(out.Header, "Http2-Settings")
	delete(out.Header, "Proxy-Connection")

	peer, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		peer = in.RemoteAddr
	}
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	h := out.Header
	// One backing array for the five values: one allocation, not five.
	vals := make([]string, 5)
	set := func(i int, name, v string) {
		vals[i] = v
		h[name] = vals[i : i+1 : i+1]
	}
	if st.trusted(peer) {
		// ReverseProxy removed X-Forwarded-*; a trusted peer's values stay.
		xff := peer
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + peer
		}
		set(0, "X-Forwarded-For", xff)
		set(1, "X-Forwarded-Host", firstOr(in.Header, "X-Forwarded-Host", in.Host))
		set(2, "X-Forwarded-Proto", firstOr(in.Header, "X-Forwarded-Proto", proto))
		fwd := forwardedElement(peer, in.Host, proto)
		if prior := in.Header["Forwarded"]; len(prior) > 0 {
			fwd = strings.Join(prior, ", ") + ", " + fwd
		}
		set(3, "Forwarded", fwd)
	} else {
		set(0, "X-Forwarded-For", peer)
		set(1, "X-Forwarded-Host", in.Host)
		set(2, "X-Forwarded-Proto", proto)
		set(3, "Forwarded", forwardedElement(peer, in.Host, proto))
	}
	if st.via != "" {
		if prior := in.Header["Via"]; len(prior) > 0 {
			proxy.AddVia(h, in.Proto, st.via)
		} else {
			set(4, "Via", st.viaHop(in.ProtoMajor, in.ProtoMinor))
		}
	}
}

// viaHop returns this proxy's Via element for the received protocol, without
// allocating for HTTP/1.1 and HTTP/2.
func (st *state) viaHop(major, minor int) string {
	switch {
	case major == 1 && minor == 1:
		return st.via11
	case major == 2:
		return st.via2
	}
	return strconv.Itoa(major) + "." + strconv.Itoa(minor) + " " + st.via
}

func firstOr(h http.Header, name, def string) string {
	if v := h[name]; len(v) > 0 && v[0] != "" {
		return v[0]
	}
	return def
}

// forwardedElement renders one RFC 7239 element.
func forwardedElement(peer, host, proto string) string {
	var b strings.Builder
	b.Grow(len(peer) + len(host) + 32)
	b.WriteString("for=")
	if strings.Contains(peer, ":") {
		b.WriteString(`"[` + peer + `]"`)
	} else {
		b.WriteString(peer)
	}
	if host != "" {
		b.WriteString(";host=")
		if needsQuote(host) {
			b.WriteString(`"` + strings.ReplaceAll(host, `"`, ``) + `"`)
		} else {
			b.WriteString(host)
		}
	}
	b.WriteString(";proto=")
	b.WriteString(proto)
	return b.String()
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '.' || c == '_' || c == '~' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return true
		}
	}
	return false
}

// trusted reports whether the peer address is in trusted_proxies.
func (st *state) trusted(peer string) bool {
	if len(st.trustedNets) == 0 {
		return false
	}
	a, err := netip.ParseAddr(peer)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range st.trustedNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
