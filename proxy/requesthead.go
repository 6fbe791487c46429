package proxy

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The engine's own request-head parser. Almost every request a proxy sees
// has the same plain shape: a token method, an origin- or absolute-form
// target, HTTP/1.1 or HTTP/1.0, CRLF line ends, token field names and at
// most one Content-Length. parseHead parses exactly that shape from the
// header block already judged in the read buffer, with one copy of the
// block, one header map and one slice for the values; anything else (CONNECT,
// Transfer-Encoding, repeated Host or Content-Length, Pragma, odd bytes, bare
// LF) is left to net/http.ReadRequest, which stays the reference: the
// differential fuzz target (requesthead_fuzz_test.go) checks that every
// block parseHead accepts gives the request ReadRequest gives.

// parseHead fills req from block, a complete header block ending in an
// empty line, when the block has the plain shape; ok false means it did not
// look further and http.ReadRequest must parse the block. hasBody says a
// Content-Length above zero follows; req.Body is always http.NoBody.
func parseHead(block []byte, req *http.Request) (hasBody, ok bool) {
	if len(block) < 4 || string(block[len(block)-4:]) != "\r\n\r\n" {
		return false, false
	}
	s := string(block[:len(block)-2]) // every line, each with its CRLF
	eol := strings.Index(s, "\r\n")
	line, rest := s[:eol], s[eol+2:]

	method, line, found := strings.Cut(line, " ")
	if !found || !isToken(method) || method == http.MethodConnect || method == "PRI" {
		return false, false
	}
	target, proto, found := strings.Cut(line, " ")
	if !found || target == "" {
		return false, false
	}
	var minor int
	switch proto {
	case "HTTP/1.1":
		minor = 1
	case "HTTP/1.0":
	default:
		return false, false
	}
	for i := 0; i < len(target); i++ {
		if target[i] <= ' ' || target[i] >= 0x7f {
			return false, false
		}
	}
	u := plainTarget(target)
	if u == nil {
		var err error
		if u, err = url.ParseRequestURI(target); err != nil {
			return false, false
		}
	}

	lines := strings.Count(rest, "\r\n")
	h := make(http.Header, lines)
	values := make([]string, lines)
	for rest != "" {
		eol = strings.Index(rest, "\r\n")
		line, rest = rest[:eol], rest[eol+2:]
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return false, false
		}
		v := line[colon+1:]
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
				return false, false
			}
		}
		v = textproto.TrimString(v) // no CR or LF is left in v
		key := http.CanonicalHeaderKey(line[:colon])
		if vv := h[key]; vv != nil {
			h[key] = append(vv, v)
			continue
		}
		vv := values[:1:1]
		values = values[1:]
		vv[0] = v
		h[key] = vv
	}
	if len(h["Host"]) > 1 || h["Pragma"] != nil || h["Transfer-Encoding"] != nil {
		return false, false
	}
	var length int64
	if cl := h["Content-Length"]; cl != nil {
		n, ok := decimal([]byte(cl[0]))
		if len(cl) > 1 || !ok {
			return false, false
		}
		length = n
	}

	req.Method = method
	req.URL = u
	req.Proto = proto
	req.ProtoMajor, req.ProtoMinor = 1, minor
	req.Header = h
	req.Host = u.Host
	if hv := h["Host"]; hv != nil {
		if req.Host == "" {
			req.Host = hv[0]
		}
		delete(h, "Host") // as ReadRequest: the field lives in req.Host
	}
	req.RequestURI = target
	req.ContentLength = length
	req.Body = http.NoBody
	hasClose := httpguts.HeaderValuesContainsToken(h["Connection"], "close")
	req.Close = hasClose || minor == 0 && !httpguts.HeaderValuesContainsToken(h["Connection"], "keep-alive")
	return length > 0, true
}

// plainTarget returns the URL of an origin-form target made of unreserved
// characters and slashes with an optional query, which url.ParseRequestURI
// would return unchanged as Path and RawQuery; nil for any other target.
func plainTarget(t string) *url.URL {
	if t[0] != '/' {
		return nil
	}
	path, query, hasQuery := strings.Cut(t, "?")
	if hasQuery && (query == "" || strings.IndexByte(query, '#') >= 0) {
		return nil // ForceQuery, fragments: the parser's business
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '/', c == '-', c == '.', c == '_', c == '~':
		default:
			return nil
		}
	}
	return &url.URL{Path: path, RawQuery: query}
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return true
}
