package conformance_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/proxylab/proxylab/proxy/conformance"
)

// FuzzReverseRequest is a differential harness for the reverse proxy's
// request path: raw bytes go to the built-in reverse proxy, and every request
// that reaches the origin (parsed there by net/http's reader) must be one the
// proxy could have understood from those bytes (parsed here the same way):
// same method, same target, and, when it arrived whole, the same body. A
// request the origin got that the input does not hold is smuggled; a body
// that differs is a framing disagreement.
func FuzzReverseRequest(f *testing.F) {
	for _, c := range conformance.Catalogue() {
		if c.Request != "" && len(c.Request) < 8<<10 {
			f.Add([]byte(renderReverse(c)))
		}
	}
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: conformance.test\r\n\r\n",
		"GET /a?b=c HTTP/1.1\r\nHost: conformance.test\r\n\r\nGET /d HTTP/1.1\r\nHost: conformance.test\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: conformance.test\r\nContent-Length: 5\r\n\r\nhelloGET /q HTTP/1.1\r\nHost: conformance.test\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: conformance.test\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"GET http://conformance.test/abs HTTP/1.1\r\nHost: conformance.test\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: conformance.test\r\n\r\n",
		"GET /%2e%2e/x HTTP/1.0\r\nHost: conformance.test\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := parseAll(in)
		got := throughReverse(t, in, want)
		if len(got) > 2*len(want) { // one retry per request at most (attempts: 2)
			t.Fatalf("the origin got %d requests from input holding %d:\n%q", len(got), len(want), in)
		}
		for _, rc := range got {
			if !matchesOne(rc, want) {
				t.Fatalf("the origin got %s %s (%d body bytes, complete %v) that the input does not hold:\n%q",
					rc.Method, rc.Target, rc.BodyLen, rc.Complete, in)
			}
		}
	})
}

// expected is one request as net/http reads it from the input.
type expected struct {
	method, target string
	body           []byte
	whole          bool
}

// parseAll reads every request net/http can read from in, in order.
func parseAll(in []byte) []expected {
	br := bufio.NewReader(bytes.NewReader(in))
	var out []expected
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return out
		}
		body, err := io.ReadAll(req.Body)
		out = append(out, expected{method: req.Method, target: requestTarget(req.URL), body: body, whole: err == nil})
		if err != nil {
			return out
		}
	}
}

// requestTarget is what a proxy may forward for u, in a form that two
// spellings of the same target share: the decoded path (a proxy may escape
// "!" or '"' differently), and the query as httputil.ReverseProxy sends it
// (a query with ';' or a bad %-escape is re-encoded without the parameters
// that do not parse, against parameter smuggling, golang/go#54663).
func requestTarget(u *url.URL) string {
	if u.Opaque == "*" || u.Path == "*" {
		return "*"
	}
	t := u.Path
	if t == "" {
		t = "/"
	}
	if q := cleanQuery(u.RawQuery); q != "" {
		t += "?" + q
	}
	return t
}

// cleanQuery mirrors httputil's cleanQueryParams.
func cleanQuery(s string) string {
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			v, _ := url.ParseQuery(s)
			return v.Encode()
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				v, _ := url.ParseQuery(s)
				return v.Encode()
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func matchesOne(rc conformance.Received, want []expected) bool {
	u, err := url.ParseRequestURI(rc.Target)
	target := rc.Target
	if err == nil {
		target = requestTarget(u)
	}
	for _, w := range want {
		if w.method != rc.Method || w.target != target {
			continue
		}
		if !rc.Complete {
			return true // cut short: nothing more to compare
		}
		if w.whole && int64(len(w.body)) == rc.BodyLen && bytes.HasPrefix(w.body, rc.Body) {
			return true
		}
	}
	return false
}

// renderReverse fills a case's template as the runner would for a reverse
// proxy at conformance.test.
func renderReverse(c *conformance.Case) string {
	return strings.NewReplacer("{target}", "/c/"+c.ID, "{abs}", "http://conformance.test/c/"+c.ID,
		"{path}", "/c/"+c.ID, "{host}", conformance.BuiltinHost, "{auth}", "", "{anyauth}", "",
		"{origin}", "", "{originip}", "127.0.0.1", "{tunnel}", "", "{cport}", "1").Replace(c.Request)
}

// throughReverse sends in to a fresh built-in reverse proxy in front of a
// fresh origin, reads a response per request it holds, tears both down and returns what
// the origin received: a fresh pair per input keeps late arrivals from
// being blamed on the next input.
func throughReverse(t *testing.T, in []byte, want []expected) []conformance.Received {
	origin, err := conformance.NewOrigin(originAddr)
	if err != nil {
		// Fuzzing fast can run loopback out of ports: not the input's fault.
		t.Skip(err)
	}
	b, err := conformance.StartBuiltin(conformance.Reverse, origin, nil)
	if err != nil {
		origin.Close()
		t.Skip(err)
	}
	c, err := net.Dial("tcp", b.Config.Proxy)
	if err == nil {
		// The built-in proxy cuts a client at 300ms (headers) or 600ms
		// (body), so an input that stops mid-request ends by then.
		c.SetDeadline(time.Now().Add(700 * time.Millisecond))
		c.Write(in)
		br := bufio.NewReader(c)
		for i := 0; i < len(want); i++ {
			req := &http.Request{Method: want[i].method}
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				break
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		// Every request the input holds was answered: the rest is an
		// incomplete request or garbage, which ends with the input.
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br)
		c.Close()
	}
	// Cut, not drain: a connection left mid-request would hold a graceful
	// shutdown for seconds, and the origin's record is final once it closes.
	// The servers close first, so no client port is left in TIME_WAIT.
	b.Server().Close()
	origin.Close()
	b.Close()
	return origin.All()
}
