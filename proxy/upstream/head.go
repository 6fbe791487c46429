package upstream

import (
	"bufio"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Field is one header field to write. Its value is Value followed by the
// pieces of More, with no separator: a caller can hand over a value built
// of parts without concatenating them first.
type Field struct {
	Name, Value string
	More        []string
}

// RequestHead is an outbound request head, written by hand into a
// connection's buffer instead of through http.Request.Write (no Request
// clone, no transfer writer, no sorting).
type RequestHead struct {
	// Method is the request method, e.g. "GET".
	Method string
	// Target is the request-target as sent: origin-form ("/p?q") for an
	// origin server, absolute-form for a parent proxy.
	Target string
	// Host is the Host field's value; required.
	Host string
	// Header holds the fields to forward. Hop-by-hop fields (Connection
	// and the names it lists, Proxy-Connection, Keep-Alive,
	// Proxy-Authenticate, Proxy-Authorization, Trailer, Transfer-Encoding,
	// Upgrade, HTTP2-Settings) are left out, TE is sent only as
	// "TE: trailers" when it asks for trailers, Host and Content-Length come
	// from the fields above, and names that are not valid tokens are
	// dropped, as http.Request.Write drops them. Values have CR and LF
	// replaced by spaces and are trimmed.
	Header http.Header
	// Replace are written after Header's fields, and Header's fields of the
	// same (canonical) names are left out: the place for X-Forwarded-For,
	// Via and the like. Entries with an empty Name are skipped.
	Replace []Field
	// ContentLength is the body's length: a positive length is sent as
	// Content-Length; 0 means no body (Content-Length: 0 only for POST, PUT
	// and PATCH, as net/http does); -1 means a chunked body follows, which
	// the caller writes (httputil.NewChunkedWriter).
	ContentLength int64
}

// ErrInvalidHost is a Host value that cannot be sent.
var ErrInvalidHost = errors.New("invalid Host header")

// Write writes the head, through its blank line, to bw (not flushed).
func (rh *RequestHead) Write(bw *bufio.Writer) error {
	host := removeZone(rh.Host)
	if !httpguts.ValidHostHeader(host) {
		return ErrInvalidHost
	}
	bw.WriteString(rh.Method)
	bw.WriteByte(' ')
	bw.WriteString(rh.Target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")

	var listed connTokens
	listed.parse(rh.Header["Connection"])
	for key, vv := range rh.Header {
		if skipRequestField(key) || listed.has(key) || rh.replaced(key) || !httpguts.ValidHeaderFieldName(key) {
			continue
		}
		if key == "User-Agent" {
			// http.Request.Write sends only the first, and none when empty.
			if len(vv) > 0 && vv[0] != "" {
				WriteField(bw, key, vv[0])
			}
			continue
		}
		for _, v := range vv {
			WriteField(bw, key, v)
		}
	}
	if headerValuesContainToken(rh.Header["Te"], "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	for _, f := range rh.Replace {
		if f.Name == "" {
			continue
		}
		if len(f.More) == 0 {
			WriteField(bw, f.Name, f.Value)
			continue
		}
		bw.WriteString(f.Name)
		bw.WriteString(": ")
		writeValue(bw, f.Value)
		for _, m := range f.More {
			writeValue(bw, m)
		}
		bw.WriteString("\r\n")
	}
	switch {
	case rh.ContentLength > 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), rh.ContentLength, 10))
		bw.WriteString("\r\n")
	case rh.ContentLength < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case rh.Method == http.MethodPost || rh.Method == http.MethodPut || rh.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	_, err := bw.WriteString("\r\n")
	return err
}

func (rh *RequestHead) replaced(key string) bool {
	for i := range rh.Replace {
		if rh.Replace[i].Name == key {
			return true
		}
	}
	return false
}

// skipRequestField reports fields RequestHead.Write never copies from Header.
func skipRequestField(key string) bool {
	switch key {
	case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Te", "Connection", "Proxy-Connection",
		"Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Upgrade", "Http2-Settings":
		return true
	}
	return false
}

// WriteField writes "name: value\r\n" with CR and LF in value replaced by
// spaces and surrounding white space trimmed, as http.Header.Write does.
func WriteField(bw *bufio.Writer, name, value string) {
	bw.WriteString(name)
	bw.WriteString(": ")
	writeValue(bw, trimSpace(value))
	bw.WriteString("\r\n")
}

// writeValue writes value with CR and LF replaced by spaces.
func writeValue(bw *bufio.Writer, value string) {
	if strings.IndexByte(value, '\r') >= 0 || strings.IndexByte(value, '\n') >= 0 {
		for i := 0; i < len(value); i++ {
			c := value[i]
			if c == '\r' || c == '\n' {
				c = ' '
			}
			bw.WriteByte(c)
		}
	} else {
		bw.WriteString(value)
	}
}

// connTokens are the field names a Connection field lists, kept without
// allocating for up to eight names.
type connTokens struct {
	n     int
	names [8]string
	more  []string
}

func (c *connTokens) parse(values []string) {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if t = trimOWS(t); t == "" {
				continue
			}
			if c.n < len(c.names) {
				c.names[c.n] = t
				c.n++
			} else {
				c.more = append(c.more, t)
			}
		}
	}
}

func (c *connTokens) has(key string) bool {
	for _, t := range c.names[:c.n] {
		if strings.EqualFold(t, key) {
			return true
		}
	}
	for _, t := range c.more {
		if strings.EqualFold(t, key) {
			return true
		}
	}
	return false
}

// removeZone removes an IPv6 zone from a Host value ("[fe80::1%en0]:80"),
// as http.Request.Write does.
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}

// trimOWS trims spaces and tabs (RFC 9110 OWS) from both ends of s; cheaper
// than strings.Trim with a cutset.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// trimSpace trims spaces, tabs, CR and LF from both ends of s, as
// textproto.TrimString does.
func trimSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
