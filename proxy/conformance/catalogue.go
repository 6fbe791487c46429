package conformance

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

var (
	both        = []Mode{Reverse, Forward}
	reverseOnly = []Mode{Reverse}
	forwardOnly = []Mode{Forward}
)

// Baseline is case 0: a plain GET that must reach the origin and come back.
// Every other verdict about the origin rests on it.
func Baseline() *Case { return baseline }

var baseline = &Case{
	ID: "0", Title: "plain GET reaches the origin", Modes: both,
	Why:     "without it nothing the origin says about the other cases means anything",
	Request: "GET {target} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n",
	Expect: Expect{Status: []int{200}, Forwarded: Exactly(1), Check: func(o *Observation) []string {
		if !o.First().FromOrigin() {
			return []string{"the response did not come from the origin: is the proxy routing {host} to it?"}
		}
		return nil
	}},
}

// Catalogue returns every case, baseline first, in the order of
// docs/SECURITY.md. Each call returns fresh values.
func Catalogue() []*Case {
	var out []*Case
	out = append(out, baseline)
	out = append(out, framingCases()...)
	out = append(out, headerCases()...)
	out = append(out, limitCases()...)
	out = append(out, slowCases()...)
	out = append(out, http2Cases()...)
	out = append(out, accessCases()...)
	out = append(out, upstreamCases()...)
	sort.SliceStable(out, func(i, j int) bool { return caseOrder(out[i].ID) < caseOrder(out[j].ID) })
	return out
}

// caseOrder sorts "3" before "3b" before "10".
func caseOrder(id string) int {
	n, i := 0, 0
	for ; i < len(id) && id[i] >= '0' && id[i] <= '9'; i++ {
		n = n*10 + int(id[i]-'0')
	}
	if i < len(id) {
		return n*100 + int(id[i]-'a') + 1
	}
	return n * 100
}

// Find returns the case with id, or nil.
func Find(cases []*Case, id string) *Case {
	for _, c := range cases {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// refused is the usual expectation for a request that must never be
// forwarded: 400, connection closed, nothing at the origin.
func refused(status ...int) Expect {
	if len(status) == 0 {
		status = []int{400}
	}
	return Expect{Status: status, Close: true, Forwarded: None()}
}

func framingCases() []*Case {
	post := "POST {target} HTTP/1.1\r\nHost: {host}\r\n{auth}"
	cl := func(id, v string) *Case {
		return &Case{ID: id, Title: "Content-Length " + quote(v), Modes: both,
			Why:     "a length one parser reads as a number and another as garbage desyncs them",
			Request: post + "Content-Length: " + v + "\r\n\r\nhello", Expect: refused()}
	}
	te := func(id, title, lines string, status ...int) *Case {
		return &Case{ID: id, Title: title, Modes: both,
			Why:     "a transfer coding the proxy does not decode exactly as chunked frames the body two ways",
			Request: post + lines + "\r\n5\r\nhello\r\n0\r\n\r\n", Expect: refused(status...)}
	}
	badChunk := func(id, title, body string) *Case {
		return &Case{ID: id, Title: title, Modes: both,
			Why: "bad chunk framing is the client's fault: 400, not 502, and the origin must not be " +
				"left holding half a request (nor the backend blamed for it)",
			Request: post + "Transfer-Encoding: chunked\r\n\r\n" + body,
			Expect:  Expect{Status: []int{400}, Check: noneComplete}}
	}
	return []*Case{
		{ID: "1", Title: "Content-Length and Transfer-Encoding, a GET smuggled behind", Modes: both,
			Why: "the classic CL.TE desync: a hop that reads Content-Length sees one request, one that " +
				"reads chunked sees two; RFC 9112 §6.1 says close the connection",
			Request: post + "Content-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
				"GET {target}/smuggled HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n",
			Expect: Expect{Status: []int{400}, Close: true, Forwarded: AtMost(1), Check: noSmuggled}},
		{ID: "2", Title: "two different Content-Length values", Modes: both,
			Why:     "which one wins differs between implementations",
			Request: post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", Expect: refused()},
		cl("3", "+5"),
		cl("3b", "0x5"),
		cl("3c", ""),
		cl("3d", "-5"),
		cl("3e", "99999999999999999999"),
		te("4", "Transfer-Encoding: chunked, identity", "Transfer-Encoding: chunked, identity\r\n", 400, 501),
		te("4b", "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", 400, 501),
		te("4c", "two Transfer-Encoding lines", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400, 501),
		{ID: "5", Title: "space before the colon (Transfer-Encoding : chunked)", Modes: both,
			Why:     "a lenient parser strips the space and decodes chunked, a strict one ignores the header",
			Request: post + "Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", Expect: refused()},
		{ID: "5b", Title: "whitespace before the first header", Modes: both,
			Why:     "the first header line folded onto the request line hides it from one parser",
			Request: "POST {target} HTTP/1.1\r\n Host: {host}\r\n{auth}Content-Length: 5\r\n\r\nhello", Expect: refused()},
		{ID: "6", Title: "obs-fold in Transfer-Encoding", Modes: both,
			Why:     "a folded framing header is read as chunked by some and as absent by others",
			Request: post + "Transfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", Expect: refused()},
		{ID: "6b", Title: "obs-fold in Content-Length", Modes: both,
			Why:     "a folded length is a number to some and garbage to others",
			Request: post + "Content-Length:\r\n 5\r\n\r\nhello", Expect: refused()},
		{ID: "6c", Title: "obs-fold in Host", Modes: both,
			Why:     "routing on a folded Host lets one hop route where another would not",
			Request: "GET {target} HTTP/1.1\r\nHost:\r\n {host}\r\n{auth}\r\n", Expect: refused()},
		badChunk("8", "bare LF after a chunk size", "5\nhello\r\n0\r\n\r\n"),
		badChunk("8b", "unclosed quoted chunk extension", "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
		badChunk("8c", "chunk size that is not hex", "zz\r\nhello\r\n0\r\n\r\n"),
		{ID: "9", Title: "1-byte chunks with 64 KiB extensions", Modes: both,
			Why: "chunk extensions cost the server memory and CPU without carrying data " +
				"(CVE-2023-39326): the proxy must stop reading, not buffer them",
			Request: post + "Transfer-Encoding: chunked\r\n\r\n" +
				strings.Repeat("1;x="+strings.Repeat("a", 64<<10)+"\r\nx\r\n", 4) + "0\r\n\r\n",
			Expect: Expect{Status: []int{0, 400, 413, 431}, Close: true, Check: noneComplete}},
		{ID: "10", Title: "HTTP/1.0 with chunked body, keep-alive and a pipelined GET", Modes: both,
			Why: "HTTP/1.0 has no chunked coding: one hop reads the chunk as the next request; RFC 9112 §6.1 " +
				"says treat the framing as faulty and close",
			Request: "POST {target} HTTP/1.0\r\nHost: {host}\r\n{auth}Connection: keep-alive\r\n" +
				"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET {target}/smuggled HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n",
			Expect: Expect{Close: true, Forwarded: AtMost(1), Check: noSmuggled}},
	}
}

func headerCases() []*Case {
	get := "GET {target} HTTP/1.1\r\nHost: {host}\r\n{auth}"
	bad := func(id, title, why, raw string) *Case {
		return &Case{ID: id, Title: title, Modes: both, Why: why, Request: raw, Expect: refused()}
	}
	ctl := "control characters in a header are read differently by each parser (CRLF injection)"
	fwd := func(o *Observation) []string {
		var out []string
		for _, rc := range o.Received {
			for _, name := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"} {
				for _, v := range rc.Header.Values(name) {
					if strings.Contains(v, "6.6.6.6") || strings.Contains(v, "evil.invalid") {
						out = append(out, fmt.Sprintf("the client's %s reached the origin: %q", name, v))
					}
				}
			}
		}
		return out
	}
	return []*Case{
		bad("7", "NUL in a header value", ctl, get+"X-A: a\x00b\r\n\r\n"),
		bad("7b", "bare CR in a header value", ctl, get+"X-A: a\rb\r\n\r\n"),
		bad("7c", "control character 0x01 in a header value", ctl, get+"X-A: a\x01b\r\n\r\n"),
		bad("11", "no Host in HTTP/1.1", "a request without Host is routed by guesswork",
			"GET {target} HTTP/1.1\r\n{auth}\r\n"),
		bad("11b", "two Host headers", "each hop may route on a different one",
			get+"Host: other.invalid\r\n\r\n"),
		bad("11c", "Host with a space (a b)", "an invalid Host reaches routing and logs as given",
			"GET {target} HTTP/1.1\r\nHost: a b\r\n{auth}\r\n"),
		bad("11d", "Host with userinfo (x@y)", "userinfo in Host confuses URL-based routing and ACLs",
			"GET {target} HTTP/1.1\r\nHost: x@y\r\n{auth}\r\n"),
		{ID: "12", Title: "absolute-form URI with a different Host", Modes: both,
			Why:     "RFC 9112 §3.2.2: the URI's authority wins; routing on Host while forwarding the URI splits them",
			Request: "GET {abs} HTTP/1.1\r\nHost: other.invalid\r\n{auth}\r\n",
			Expect: Expect{Status: []int{200}, Forwarded: Exactly(1), Check: func(o *Observation) []string {
				for _, rc := range o.Received {
					if strings.EqualFold(rc.Host, "other.invalid") {
						return []string{"the origin got Host other.invalid instead of the URI's authority"}
					}
				}
				return nil
			}}},
		{ID: "13", Title: "unknown Host", Modes: reverseOnly,
			NotApplicable: map[Mode]string{Forward: "a forward proxy routes by the request target, not by a list of hosts"},
			Why:           "a default backend serves any Host, so an attacker's name gets someone's site",
			Request:       "GET {path} HTTP/1.1\r\nHost: unknown.invalid\r\n\r\n",
			Expect:        Expect{Status: []int{400, 404, 421}, Forwarded: None()}},
		{ID: "14", Title: "client X-Forwarded-* and Forwarded", Modes: reverseOnly,
			NotApplicable: map[Mode]string{Forward: "a forward proxy speaks for its client; ours adds no X-Forwarded-*"},
			Why:           "appending to a client's X-Forwarded-For lets it choose the address the origin trusts",
			Request: get + "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.invalid\r\nX-Forwarded-Proto: https\r\n" +
				"Forwarded: for=6.6.6.6;host=evil.invalid\r\n\r\n",
			Expect: Expect{Status: []int{200}, Forwarded: Exactly(1), Check: fwd}},
		{ID: "15", Title: "Connection: X-Forwarded-For, Foo", Modes: both,
			Why: "headers named in Connection are hop-by-hop and must go, but naming the proxy's own " +
				"X-Forwarded-For must not strip it (CVE-2021-33197)",
			Request: get + "Connection: X-Forwarded-For, Foo\r\nFoo: bar\r\n\r\n",
			Expect: Expect{Status: []int{200}, Forwarded: Exactly(1), Check: func(o *Observation) []string {
				var out []string
				for _, rc := range o.Received {
					if rc.Header.Get("Foo") != "" {
						out = append(out, "Foo reached the origin")
					}
					if strings.Contains(strings.ToLower(rc.Header.Get("Connection")), "foo") {
						out = append(out, "Connection naming Foo reached the origin")
					}
				}
				return out
			}}},
		{ID: "15b", Title: "Connection: X-Forwarded-For keeps the proxy's own", Modes: reverseOnly,
			NotApplicable: map[Mode]string{Forward: "ours adds no X-Forwarded-For"},
			Why:           "a client must not be able to strip the address the proxy vouches for",
			Request:       get + "Connection: X-Forwarded-For\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
			Expect: Expect{Status: []int{200}, Forwarded: Exactly(1), Check: func(o *Observation) []string {
				var out []string
				for _, rc := range o.Received {
					if rc.Header.Get("X-Forwarded-For") == "" {
						out = append(out, "the proxy's X-Forwarded-For was stripped")
					}
				}
				return append(out, fwd(o)...)
			}}},
		{ID: "16", Title: "Keep-Alive, Proxy-Connection, Proxy-Authorization, TE: gzip", Modes: both,
			Why:     "hop-by-hop headers leak credentials and connection state to the origin",
			Request: "GET {target} HTTP/1.1\r\nHost: {host}\r\n{anyauth}Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\n\r\n",
			Expect:  Expect{Status: []int{200, 407}, Forwarded: AtMost(1), Check: hopHeadersGone}},
		{ID: "17", Title: "Upgrade: h2c with HTTP2-Settings", Modes: both,
			Why: "a forwarded h2c upgrade tunnels HTTP/2 past the proxy's routing and rules " +
				"(golang/go#80416)",
			Request: get + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
			Expect: Expect{Status: []int{200, 400}, Forwarded: AtMost(1), Check: func(o *Observation) []string {
				var out []string
				for _, rc := range o.Received {
					if rc.Header.Get("Upgrade") != "" || rc.Header.Get("Http2-Settings") != "" {
						out = append(out, "Upgrade: h2c or HTTP2-Settings reached the origin")
					}
				}
				if o.Status() == http.StatusSwitchingProtocols {
					out = append(out, "the client was switched to h2c through the proxy")
				}
				return out
			}}},
		{ID: "17b", Title: "a WebSocket upgrade still works", Modes: reverseOnly,
			NotApplicable: map[Mode]string{Forward: "forward-proxy clients reach WebSockets through CONNECT (case 30d)"},
			Why:           "stripping h2c must not break the upgrades a proxy is meant to carry",
			Probe:         probeWebSocket,
			Expect:        Expect{Status: []int{101}, Forwarded: Exactly(1)}},
	}
}

var hopHeaderNames = []string{"Keep-Alive", "Proxy-Connection", "Proxy-Authorization"}

func hopHeadersGone(o *Observation) []string {
	var out []string
	for _, rc := range o.Received {
		for _, h := range hopHeaderNames {
			if rc.Header.Get(h) != "" {
				out = append(out, h+" reached the origin")
			}
		}
		if te := rc.Header.Get("Te"); te != "" && !strings.EqualFold(te, "trailers") {
			out = append(out, "TE: "+te+" reached the origin")
		}
	}
	return out
}

// noneComplete fails when the origin got a whole request: the proxy passed
// on a body it could not have decoded. An upstream request cut short (the
// proxy streamed, then dropped the upstream connection) is fine.
func noneComplete(o *Observation) []string {
	var out []string
	for _, rc := range o.Received {
		if rc.Complete {
			out = append(out, fmt.Sprintf("the origin got a whole request (%d body bytes) from bad framing", rc.BodyLen))
		}
	}
	return out
}

func noSmuggled(o *Observation) []string {
	var out []string
	for _, rc := range o.Received {
		if strings.Contains(rc.Target, "/smuggled") {
			out = append(out, "the smuggled request reached the origin: "+rc.Method+" "+rc.Target)
		}
	}
	return out
}

func quote(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}
