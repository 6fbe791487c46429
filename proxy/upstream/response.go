package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// ResponseHead is a parsed response status line and header section, with
// the framing of the body that follows (RFC 9112 §6.3).
type ResponseHead struct {
	StatusCode int
	// Reason is the reason phrase, possibly empty.
	Reason     string
	ProtoMajor int
	ProtoMinor int
	// Header is the map the fields were added to (the one passed to Read).
	Header http.Header
	// ContentLength is the body length; -1 when the body is chunked or
	// delimited by the connection's close. Bodiless responses (HEAD, 1xx,
	// 204, 304) report 0 whatever their Content-Length field says; the field
	// itself stays in Header.
	ContentLength int64
	// Chunked reports a chunked body (Transfer-Encoding: chunked).
	Chunked bool
	// Close reports that the connection cannot carry another exchange
	// after this response (Connection: close, HTTP/1.0 without keep-alive,
	// a body delimited by the close, or a response framed two ways).
	Close bool
	// Trailer lists the field names announced by a Trailer field, canonical;
	// nil when none.
	Trailer []string
}

// ReadOptions say how ResponseHead.Read treats the fields.
type ReadOptions struct {
	// MaxBytes caps the head; 0 means DefaultMaxResponseHeaderBytes.
	MaxBytes int
	// DropHopByHop leaves out of the header the hop-by-hop fields a proxy
	// must not forward (Connection and the names it lists, Proxy-Connection,
	// Keep-Alive, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
	// Transfer-Encoding, Upgrade), as httputil.ReverseProxy does; they are
	// still interpreted for framing.
	DropHopByHop bool
}

// ErrHeadTooLarge means a response head exceeded ReadOptions.MaxBytes.
var ErrHeadTooLarge = errors.New("upstream response head too large")

// headError is a malformed response head.
func headError(what string, s string) error {
	if len(s) > 80 {
		s = s[:80]
	}
	return fmt.Errorf("malformed upstream response: %s: %q", what, s)
}

// Read reads one response head from br into rh, adding the fields to h
// (usually an http.ResponseWriter's Header, which should be empty). method is
// the request's method (HEAD responses have no body). The whole head costs
// two allocations: one string holding it, and one array for the values; keys
// already in canonical form are substrings of it. A 1xx head is returned like
// any other: the caller reads the next head after it.
func (rh *ResponseHead) Read(br *bufio.Reader, method string, h http.Header, opt ReadOptions) error {
	max := opt.MaxBytes
	if max <= 0 {
		max = DefaultMaxResponseHeaderBytes
	}
	*rh = ResponseHead{Header: h, ContentLength: -1}
	s, err := readHead(br, max)
	if err != nil {
		return err
	}
	line, rest, _ := strings.Cut(s, "\n")
	line = strings.TrimSuffix(line, "\r")
	if err := rh.parseStatus(line); err != nil {
		return err
	}
	f := fields{h: h, drop: opt.DropHopByHop}
	if err := f.parse(rest); err != nil {
		return err
	}
	return rh.frame(method, &f)
}

// readHead returns the head up to and including its blank line, as one
// string, and consumes it from br.
func readHead(br *bufio.Reader, max int) (string, error) {
	// Fast path: the whole head sits in br's buffer (it nearly always
	// arrives in one segment).
	n := br.Buffered()
	if n == 0 {
		n = 1
	}
	for {
		buf, err := br.Peek(n)
		if end := headEnd(buf); end > 0 {
			if end > max {
				return "", ErrHeadTooLarge
			}
			s := string(buf[:end])
			br.Discard(end)
			return s, nil
		}
		if len(buf) >= max {
			return "", ErrHeadTooLarge
		}
		if err != nil {
			if err == bufio.ErrBufferFull {
				return readHeadSlow(br, max)
			}
			return "", err
		}
		n = len(buf) + 1
		if b := br.Buffered(); b > n {
			n = b
		}
	}
}

// readHeadSlow reads a head larger than br's buffer line by line.
func readHeadSlow(br *bufio.Reader, max int) (string, error) {
	var acc []byte
	for {
		line, err := br.ReadSlice('\n')
		acc = append(acc, line...)
		if len(acc) > max {
			return "", ErrHeadTooLarge
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		if len(acc) > len(line) && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			return string(acc), nil
		}
	}
}

// headEnd returns the length of the head in buf through its blank line
// ("\r\n\r\n" or a bare "\n\n", which net/http accepts), or 0.
func headEnd(buf []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		if i < len(buf) && buf[i] == '\n' {
			return i + 1
		}
		if i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n' {
			return i + 2
		}
		if i >= len(buf) {
			return 0
		}
	}
}

func (rh *ResponseHead) parseStatus(line string) error {
	proto, status, ok := strings.Cut(line, " ")
	if !ok {
		return headError("status line", line)
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok || major != 1 {
		return headError("protocol version", line)
	}
	rh.ProtoMajor, rh.ProtoMinor = major, minor
	code, reason, _ := strings.Cut(strings.TrimLeft(status, " "), " ")
	if len(code) != 3 {
		return headError("status code", line)
	}
	n := 0
	for i := 0; i < 3; i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return headError("status code", line)
		}
		n = n*10 + int(c-'0')
	}
	if n < 100 {
		return headError("status code", line)
	}
	rh.StatusCode = n
	rh.Reason = reason
	return nil
}

// fields parses header fields into h and notes what framing needs.
type fields struct {
	h    http.Header
	drop bool

	conn    smallList // Connection values
	te      smallList // Transfer-Encoding values
	cl      smallList // Content-Length values
	trailer smallList // Trailer values
}

// smallList keeps strings, the first without allocating (a framing field
// nearly always comes once; the parser's frame stays small).
type smallList struct {
	n    int
	fix  [1]string
	more []string
}

func (l *smallList) add(s string) {
	if l.n < len(l.fix) {
		l.fix[l.n] = s
	} else {
		l.more = append(l.more, s)
	}
	l.n++
}

func (l *smallList) at(i int) string {
	if i < len(l.fix) {
		return l.fix[i]
	}
	return l.more[i-len(l.fix)]
}

func (l *smallList) join() string {
	var b strings.Builder
	for i := 0; i < l.n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.at(i))
	}
	return b.String()
}

// hasToken reports whether a comma-separated token list in l holds token
// (case-insensitive).
func (l *smallList) hasToken(token string) bool {
	for i := 0; i < l.n; i++ {
		for t := range strings.SplitSeq(l.at(i), ",") {
			if strings.EqualFold(trimOWS(t), token) {
				return true
			}
		}
	}
	return false
}

// parse adds the fields of s (the head after its status line) to f.h.
func (f *fields) parse(s string) error {
	vals := make([]string, strings.Count(s, "\n"))
	for len(s) > 0 {
		var line string
		line, s, _ = strings.Cut(s, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return headError("header line starting with white space", line)
		}
		// obs-fold: continuation lines join the value with one space, as
		// net/textproto does.
		for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
			var cont string
			cont, s, _ = strings.Cut(s, "\n")
			line += " " + strings.Trim(strings.TrimSuffix(cont, "\r"), " \t")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || !httpguts.ValidHeaderFieldName(name) {
			return headError("header line", line)
		}
		value = trimOWS(value)
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
				return headError("header value", line)
			}
		}
		key := canonicalKey(name)
		switch key {
		case "Connection":
			f.conn.add(value)
		case "Transfer-Encoding":
			f.te.add(value)
		case "Content-Length":
			f.cl.add(value)
		case "Trailer":
			f.trailer.add(value)
		}
		if f.drop && isHopHeader(key) {
			continue
		}
		vv := f.h[key]
		if vv == nil && len(vals) > 0 {
			vv, vals = vals[:1:1], vals[1:]
			vv[0] = value
			f.h[key] = vv
		} else {
			f.h[key] = append(vv, value)
		}
	}
	if f.drop {
		for i := 0; i < f.conn.n; i++ {
			v := f.conn.at(i)
			for name := range strings.SplitSeq(v, ",") {
				if name = trimOWS(name); name != "" {
					f.h.Del(name)
				}
			}
		}
	}
	return nil
}

// frame works out the body's framing (RFC 9112 §6.3, as net/http reads it).
func (rh *ResponseHead) frame(method string, f *fields) error {
	h := f.h
	rh.Close = rh.ProtoMinor == 0 && !f.conn.hasToken("keep-alive") || f.conn.hasToken("close")
	var cl int64 = -1
	if f.cl.n > 0 {
		first := trimOWS(f.cl.at(0))
		for i := 1; i < f.cl.n; i++ {
			if trimOWS(f.cl.at(i)) != first {
				return headError("differing Content-Length fields", f.cl.join())
			}
		}
		if f.cl.n > 1 {
			h["Content-Length"] = h["Content-Length"][:1]
		}
		n, err := strconv.ParseUint(first, 10, 63)
		if first == "" || err != nil || first[0] == '+' {
			return headError("Content-Length", first)
		}
		cl = int64(n)
	}
	if f.te.n > 0 && rh.ProtoMinor > 0 {
		if f.te.n != 1 || !strings.EqualFold(trimOWS(f.te.at(0)), "chunked") {
			return headError("unsupported Transfer-Encoding", f.te.join())
		}
		rh.Chunked = true
		if cl >= 0 {
			// Framed two ways: chunked wins and Content-Length goes (RFC 9112
			// §6.3), and the connection is not trusted with another exchange.
			delete(h, "Content-Length")
			rh.Close = true
		}
	} else if f.te.n > 0 {
		delete(h, "Transfer-Encoding") // ignored on HTTP/1.0, as net/http does
	}
	if f.trailer.n > 0 {
		for i := 0; i < f.trailer.n; i++ {
			v := f.trailer.at(i)
			for name := range strings.SplitSeq(v, ",") {
				name = http.CanonicalHeaderKey(trimOWS(name))
				switch name {
				case "", "Transfer-Encoding", "Trailer", "Content-Length":
					continue
				}
				rh.Trailer = append(rh.Trailer, name)
			}
		}
	}
	switch {
	case method == http.MethodHead || rh.StatusCode < 200 || rh.StatusCode == 204 || rh.StatusCode == 304:
		rh.ContentLength = 0
		rh.Chunked = false
	case rh.Chunked:
		rh.ContentLength = -1
	case cl >= 0:
		rh.ContentLength = cl
	default:
		rh.ContentLength = -1
		rh.Close = true // read to the close
	}
	return nil
}

// isHopHeader reports the hop-by-hop fields httputil.ReverseProxy removes.
func isHopHeader(key string) bool {
	switch key {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// canonicalKey returns name in canonical form, without allocating when it
// already is.
func canonicalKey(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return http.CanonicalHeaderKey(name)
		}
		upper = c == '-'
	}
	return name
}

// headerValuesContainToken reports whether a comma-separated token list in
// values holds token (case-insensitive).
func headerValuesContainToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(trimOWS(t), token) {
				return true
			}
		}
	}
	return false
}
