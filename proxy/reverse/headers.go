package reverse

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/upstream"
)

// rewrite sets the outbound request's headers on httputil's path:
// hop-by-hop and h2c upgrade headers are already gone or go here, and the
// forwarding fields are those forwardFields computes for the direct path.
// f and parts hold the fields while they are set (the request's reqState
// has room for them). The upstream address is set per attempt by the round
// tripper.
func (st *state) rewrite(pr *httputil.ProxyRequest, f *[numFields]upstream.Field, parts *[fwdParts]string) {
	in, out := pr.In, pr.Out
	out.Host = in.Host
	out.URL.Scheme = "http"
	out.URL.Host = "upstream.invalid" // replaced by each attempt
	proxy.StripH2CUpgrade(out.Header)
	delete(out.Header, "Http2-Settings")
	delete(out.Header, "Proxy-Connection")

	st.forwardFields(in, f, parts)
	h := out.Header
	// One backing array for the values: one allocation, not one per field.
	vals := make([]string, numFields)
	for i := range f {
		if f[i].Name == "" {
			continue // Via is off: the client's Via passes unchanged
		}
		vals[i] = fieldValue(f[i])
		h[f[i].Name] = vals[i : i+1 : i+1]
	}
}

// Indexes of the fields forwardFields fills.
const (
	fieldXFF = iota
	fieldXFHost
	fieldXFProto
	fieldForwarded
	fieldVia
	numFields
)

// forwardFields computes the X-Forwarded-*, Forwarded and Via fields of the
// outbound request into f, for both paths (serveFast writes them as they
// are, rewrite sets them on httputil's outbound header): client values are
// replaced for untrusted peers and appended to for trusted ones; Via gets
// this proxy's hop unless Via is off (f[fieldVia] stays empty then, and the
// client's Via passes unchanged).
func (st *state) forwardFields(in *http.Request, f *[numFields]upstream.Field, parts *[fwdParts]string) {
	peer, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		peer = in.RemoteAddr
	}
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	f[fieldXFF] = upstream.Field{Name: "X-Forwarded-For", Value: peer}
	f[fieldXFHost] = upstream.Field{Name: "X-Forwarded-Host", Value: in.Host}
	f[fieldXFProto] = upstream.Field{Name: "X-Forwarded-Proto", Value: proto}
	// This hop's Forwarded element, written in pieces: no string is built.
	f[fieldForwarded] = upstream.Field{Name: "Forwarded", Value: "for=", More: forwardedParts(peer, in.Host, proto, parts)}
	if st.trusted(peer) {
		// A trusted peer's values stay: this hop is appended to them.
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			f[fieldXFF].Value = strings.Join(prior, ", ") + ", " + peer
		}
		f[fieldXFHost].Value = firstOr(in.Header, "X-Forwarded-Host", in.Host)
		f[fieldXFProto].Value = firstOr(in.Header, "X-Forwarded-Proto", proto)
		if prior := in.Header["Forwarded"]; len(prior) > 0 {
			f[fieldForwarded].Value = strings.Join(prior, ", ") + ", for="
		}
	}
	f[fieldVia] = upstream.Field{}
	if st.via != "" {
		hop := st.viaHop(in.ProtoMajor, in.ProtoMinor)
		if prior := priorVia(in.Header); len(prior) > 0 {
			hop = strings.Join(prior, ", ") + ", " + hop
		}
		f[fieldVia] = upstream.Field{Name: "Via", Value: hop}
	}
}

// priorVia is the client's Via, or none when its Connection field lists
// Via: a hop-by-hop field is not passed on, as on httputil's path, where
// rewrite adds this hop to the outbound header those are stripped from.
func priorVia(h http.Header) []string {
	v := h["Via"]
	if len(v) > 0 && len(h["Connection"]) > 0 && httpguts.HeaderValuesContainsToken(h["Connection"], "Via") {
		return nil
	}
	return v
}

// fwdParts is the most pieces forwardedParts returns.
const fwdParts = 8

// forwardedParts is one RFC 7239 element after its "for=", as pieces kept
// in parts; only a host with a quote in it is built as one string.
func forwardedParts(peer, host, proto string, parts *[fwdParts]string) []string {
	n := 0
	if strings.Contains(peer, ":") {
		parts[n], parts[n+1], parts[n+2] = `"[`, peer, `]"`
		n += 3
	} else {
		parts[n] = peer
		n++
	}
	if host != "" {
		switch {
		case !needsQuote(host):
			parts[n], parts[n+1] = ";host=", host
			n += 2
		case !strings.Contains(host, `"`):
			parts[n], parts[n+1], parts[n+2] = `;host="`, host, `"`
			n += 3
		default:
			parts[n] = `;host="` + strings.ReplaceAll(host, `"`, ``) + `"`
			n++
		}
	}
	parts[n], parts[n+1] = ";proto=", proto
	n += 2
	return parts[:n]
}

// fieldValue is f's value as one string.
func fieldValue(f upstream.Field) string {
	if len(f.More) == 0 {
		return f.Value
	}
	n := len(f.Value)
	for _, p := range f.More {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(f.Value)
	for _, p := range f.More {
		b.WriteString(p)
	}
	return b.String()
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
