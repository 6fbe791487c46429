package reverse

import (
	"net/http"
	"net/url"
	"strings"
)

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
