package reverse

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/proxylab/proxylab/proxy/upstream"
)

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
// outbound request into f (same rules as rewrite, which httputil's path
// uses): client values are replaced for untrusted peers and appended to for
// trusted ones; Via gets this proxy's hop unless Via is off (f[fieldVia]
// stays empty then, and the client's Via passes unchanged).
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
	var fwd string
	if st.trusted(peer) {
		fwd = forwardedElement(peer, in.Host, proto)
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			f[fieldXFF].Value = strings.Join(prior, ", ") + ", " + peer
		}
		f[fieldXFHost].Value = firstOr(in.Header, "X-Forwarded-Host", in.Host)
		f[fieldXFProto].Value = firstOr(in.Header, "X-Forwarded-Proto", proto)
		if prior := in.Header["Forwarded"]; len(prior) > 0 {
			fwd = strings.Join(prior, ", ") + ", " + fwd
		}
		f[fieldForwarded] = upstream.Field{Name: "Forwarded", Value: fwd}
	} else {
		// The usual case, written in pieces: no string is built.
		f[fieldForwarded] = upstream.Field{Name: "Forwarded", Value: "for=", More: forwardedParts(peer, in.Host, proto, parts)}
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
const fwdParts = 7

// forwardedParts is forwardedElement after its "for=", as pieces kept in
// parts; hosts that need quoting are rare and built as one string.
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
		if needsQuote(host) {
			parts[n] = `;host="` + strings.ReplaceAll(host, `"`, ``) + `"`
			n++
		} else {
			parts[n], parts[n+1] = ";host=", host
			n += 2
		}
	}
	parts[n], parts[n+1] = ";proto=", proto
	n += 2
	return parts[:n]
}

// outboundTarget is the request-target httputil.ReverseProxy would send for
// in: the escaped path (net/url's reading of it) and the query with
// unparsable parameters dropped (golang/go#54663). It returns
// in.RequestURI itself when that is the same text, which it nearly always
// is, so that no string is built.
func outboundTarget(in *http.Request) string {
	u := in.URL
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	q := cleanQueryParams(u.RawQuery)
	if q == "" && !u.ForceQuery {
		return path
	}
	ru := in.RequestURI
	if len(ru) == len(path)+1+len(q) && strings.HasPrefix(ru, path) && ru[len(path)] == '?' && strings.HasSuffix(ru, q) {
		return ru
	}
	return path + "?" + q
}

// cleanQueryParams is httputil's: a query with a ';' or a bad escape is
// parsed and re-encoded, which drops what does not parse.
func cleanQueryParams(s string) string {
	reencode := func(s string) string {
		v, _ := url.ParseQuery(s)
		return v.Encode()
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode(s)
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return reencode(s)
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
