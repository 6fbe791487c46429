package conformance

import (
	"fmt"
	"net/http"
)

func limitCases() []*Case {
	return []*Case{
		{ID: "18", Title: "request headers over the limit", Modes: both,
			Why:    "unbounded headers are memory an attacker chooses; they must be refused before routing",
			Probe:  probeBigHeader,
			Expect: Expect{Status: []int{431}, Forwarded: None()}},
		{ID: "18b", Title: "request URI over the limit", Modes: both,
			Why:    "the same for a huge request-target",
			Probe:  probeBigURI,
			Expect: Expect{Status: []int{414, 431}, Forwarded: None()}},
		{ID: "19", Title: "Content-Length over the body limit", Modes: both, Needs: []Need{NeedBodyLimit},
			Why:    "a declared length over the limit is refused before any upstream is dialled",
			Probe:  probeBigContentLength,
			Expect: Expect{Status: []int{413}, Forwarded: None()}},
		{ID: "19b", Title: "chunked body over the body limit", Modes: both, Needs: []Need{NeedBodyLimit},
			Why:   "a streamed body over the limit is cut, and the upstream request aborted, not completed",
			Probe: probeBigChunked,
			Expect: Expect{Status: []int{0, 413}, Check: func(o *Observation) []string {
				for _, rc := range o.Received {
					if rc.Complete && rc.BodyLen > 0 {
						return []string{fmt.Sprintf("the origin got a whole body of %d bytes", rc.BodyLen)}
					}
				}
				return nil
			}}},
	}
}

func slowCases() []*Case {
	return []*Case{
		{ID: "20", Title: "slow headers (slowloris)", Modes: both, Needs: []Need{NeedClientTimeouts},
			Why: "a client that trickles headers holds a connection and a goroutine forever " +
				"unless the header deadline cuts it",
			Probe:  probeSlowHeaders,
			Expect: Expect{Status: []int{0, 408}, Close: true, Forwarded: None()}},
		{ID: "21", Title: "slow body (slow POST)", Modes: both, Needs: []Need{NeedClientTimeouts},
			Why: "a client that trickles its body holds the proxy and the upstream; the body deadline " +
				"cuts it and the upstream request is abandoned, never completed",
			Probe: probeSlowBody,
			Expect: Expect{Status: []int{0, 400, 408, 502, 504}, Close: true, Check: func(o *Observation) []string {
				for _, rc := range o.Received {
					if rc.Complete {
						return []string{"the origin got the whole slow body"}
					}
				}
				return nil
			}}},
		{ID: "21b", Title: "slow body behind a refusal (404, 403, 407)", Modes: both, Needs: []Need{NeedClientTimeouts},
			Why: "a proxy that refuses a request but then waits to drain its body gives a slow client the " +
				"connection for as long as it likes: refusals must close or drain under the body deadline",
			Probe:  probeSlowBodyRefused,
			Expect: Expect{Close: true, Forwarded: None(), NoDial: true}},
		{ID: "22", Title: "slow reader", Modes: both, Needs: []Need{NeedWriteTimeout},
			Why: "a client that never reads holds the response and the upstream connection; the write " +
				"idle deadline cuts it once a write makes no progress",
			Probe:  probeSlowReader,
			Expect: Expect{Status: []int{0, 200}, Close: true}},
	}
}

func http2Cases() []*Case {
	h1only := map[Mode]string{Forward: "the forward proxy serves HTTP/1.1 only"}
	return []*Case{
		{ID: "23", Title: "HTTP/2 rapid reset (1,000 streams opened and cancelled)", Modes: reverseOnly,
			NotApplicable: h1only, Needs: []Need{NeedH2C},
			Why:    "CVE-2023-44487: streams opened and reset at once cost the server work the client never waits for",
			Probe:  probeH2RapidReset,
			Expect: Expect{Check: servedAfter}},
		{ID: "24", Title: "HTTP/2 CONTINUATION flood (a header block that never ends)", Modes: reverseOnly,
			NotApplicable: h1only, Needs: []Need{NeedH2C},
			Why:   "CVE-2023-45288: header frames without END_HEADERS exhaust memory and CPU",
			Probe: probeH2Continuation,
			Expect: Expect{Forwarded: None(), Check: func(o *Observation) []string {
				out := servedAfter(o)
				if !o.Closed {
					out = append(out, "the proxy read 16 MiB of header block without closing")
				}
				return out
			}}},
		{ID: "25", Title: "HTTP/2 request with connection, keep-alive, transfer-encoding, te: gzip", Modes: reverseOnly,
			NotApplicable: h1only, Needs: []Need{NeedH2C},
			Why: "RFC 9113 §8.2.2 makes them malformed; a proxy that lets them reach an HTTP/1.1 origin " +
				"hands it framing the client chose",
			Probe: probeH2Connection,
			Expect: Expect{Forwarded: AtMost(1), Check: func(o *Observation) []string {
				if o.Status() != 200 {
					return h2Refused(o)
				}
				var out []string
				for _, rc := range o.Received {
					for _, h := range []string{"Connection", "Keep-Alive", "Transfer-Encoding"} {
						if rc.Header.Get(h) != "" {
							out = append(out, h+" reached the origin")
						}
					}
					if te := rc.Header.Get("Te"); te != "" && te != "trailers" {
						out = append(out, "TE: "+te+" reached the origin")
					}
				}
				return out
			}}},
		{ID: "26", Title: "HTTP/2 :authority differs from host", Modes: reverseOnly, NotApplicable: h1only,
			Needs: []Need{NeedH2C},
			Why:   "RFC 9113 §8.3.1: :authority wins; routing on one and forwarding the other splits them",
			Probe: probeH2Authority,
			Expect: Expect{Status: []int{200}, Forwarded: Exactly(1), Check: func(o *Observation) []string {
				for _, rc := range o.Received {
					if rc.Host == "other.invalid" {
						return []string{"the origin got Host other.invalid instead of :authority"}
					}
				}
				return nil
			}}},
		{ID: "26b", Title: "HTTP/2 :path without a leading slash", Modes: reverseOnly, NotApplicable: h1only,
			Needs:  []Need{NeedH2C},
			Why:    "a malformed :path reaches routing and logs as given",
			Probe:  probeH2BadPath,
			Expect: Expect{Forwarded: None(), Check: h2Refused}},
	}
}

func accessCases() []*Case {
	ssrf := func(id, host string) *Case {
		return &Case{ID: id, Title: "request for " + host, Modes: forwardOnly, Needs: []Need{NeedCanary},
			NotApplicable: map[Mode]string{Reverse: "a reverse proxy only reaches its configured servers"},
			Why:           "a loopback spelling that slips past the guard reaches the proxy's own services (SSRF)",
			Request:       "GET http://" + host + ":{cport}/c/" + id + " HTTP/1.1\r\nHost: " + host + ":{cport}\r\n{auth}\r\n",
			Expect:        Expect{Status: []int{403}, Forwarded: None(), NoDial: true}}
	}
	connectPort := func(id, port string) *Case {
		return &Case{ID: id, Title: "CONNECT to port " + port, Modes: forwardOnly, Needs: []Need{NeedTunnel},
			NotApplicable: map[Mode]string{Reverse: "CONNECT is a forward-proxy method"},
			Why:           "CONNECT to any port makes the proxy a relay for mail spam and Redis attacks",
			Request:       "CONNECT {originip}:" + port + " HTTP/1.1\r\nHost: {originip}:" + port + "\r\n{auth}\r\n",
			Expect:        Expect{Status: []int{403}}}
	}
	badConnect := func(id, title, target string) *Case {
		return &Case{ID: id, Title: title, Modes: forwardOnly, Needs: []Need{NeedTunnel},
			NotApplicable: map[Mode]string{Reverse: "CONNECT is a forward-proxy method"},
			Why:           "a CONNECT target is host:port and nothing else; anything more is parsed differently by each hop",
			Request:       "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n{auth}\r\n",
			Expect:        Expect{Status: []int{400}, Forwarded: None()}}
	}
	return []*Case{
		{ID: "27", Title: "no credentials", Modes: forwardOnly, Needs: []Need{NeedAuth},
			NotApplicable: map[Mode]string{Reverse: "proxy credentials are a forward-proxy matter"},
			Why:           "a proxy that forwards before checking credentials is an open proxy",
			Request:       "GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n",
			Expect: Expect{Status: []int{407}, Forwarded: None(), Check: func(o *Observation) []string {
				if o.First().Header.Get("Proxy-Authenticate") == "" {
					return []string{"407 without Proxy-Authenticate"}
				}
				return nil
			}}},
		ssrf("28", "127.0.0.1"),
		ssrf("28b", "localhost"),
		ssrf("28c", "[::ffff:127.0.0.1]"),
		ssrf("28d", "2130706433"),
		ssrf("28e", "0x7f000001"),
		ssrf("28f", "127.1"),
		ssrf("28g", "0.0.0.0"),
		ssrf("28h", "[::1]"),
		{ID: "28i", Title: "CONNECT to 127.0.0.1", Modes: forwardOnly, Needs: []Need{NeedCanary},
			NotApplicable: map[Mode]string{Reverse: "CONNECT is a forward-proxy method"},
			Why:           "the guard must cover tunnels as well as absolute-form",
			Request:       "CONNECT 127.0.0.1:{cport} HTTP/1.1\r\nHost: 127.0.0.1:{cport}\r\n{auth}\r\n",
			Expect:        Expect{Status: []int{403}, NoDial: true}},
		{ID: "29", Title: "DNS rebinding", Modes: forwardOnly,
			NotApplicable: map[Mode]string{
				Reverse: "a reverse proxy only reaches its configured servers",
				Forward: "needs a resolver the test controls (public first, then loopback); " +
					"proxy/forward's policy specs run it with a stub resolver",
			},
			Why: "a check on the first resolution and a dial on the second lets a name turn into 127.0.0.1"},
		connectPort("30", "22"),
		connectPort("30b", "25"),
		connectPort("30c", "6379"),
		{ID: "30d", Title: "CONNECT to an allowed port relays both ways", Modes: forwardOnly, Needs: []Need{NeedTunnel},
			NotApplicable: map[Mode]string{Reverse: "CONNECT is a forward-proxy method"},
			Why:           "hardening must leave the proxy's main job working",
			Probe:         probeTunnel,
			Expect:        Expect{Status: []int{200}, Forwarded: Exactly(1)}},
		badConnect("31", "CONNECT target without a port", "{originip}"),
		badConnect("31b", "CONNECT target with userinfo", "user:pass@{tunnel}"),
		badConnect("31c", "CONNECT target with a path", "{tunnel}/c/31c"),
		{ID: "32", Title: "absolute-form request on the reverse listener", Modes: reverseOnly,
			NotApplicable: map[Mode]string{Forward: "absolute-form is what a forward proxy serves"},
			Why:           "a reverse proxy that fetches any absolute URI is an open proxy",
			Request:       "GET http://internal.invalid/c/32 HTTP/1.1\r\nHost: internal.invalid\r\n\r\n",
			Expect:        Expect{Status: []int{400, 404, 421}, Forwarded: None()}},
	}
}

func upstreamCases() []*Case {
	get := func(do string) string {
		return "GET {target}?do=" + do + " HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"
	}
	oneResponse := func(o *Observation) []string {
		var out []string
		for _, r := range o.Responses {
			if r.Header.Get("X-Split") != "" {
				out = append(out, "a second, injected response reached the client (response splitting)")
			}
		}
		return out
	}
	return []*Case{
		// RFC 9112 §6.3 lets an intermediary forward a response with both
		// after removing Content-Length and decoding chunked (Go does);
		// nginx answers 502. Either way the hidden response must not follow.
		{ID: "33", Title: "origin answers with Content-Length and Transfer-Encoding", Modes: both,
			Why:     "a response framed two ways can carry a second response into the client's connection",
			Request: get(DoCLTE),
			Expect:  Expect{Status: []int{200, 502}, Check: oneResponse}},
		// An idempotent GET may be retried after a broken response, so the
		// origin may see it more than once.
		{ID: "33b", Title: "origin answers with Transfer-Encoding: gzip (not chunked)", Modes: both,
			Why:     "a response the proxy cannot frame must not be passed on as if it could",
			Request: get(DoBadTE),
			Expect:  Expect{Status: []int{502}, Check: oneResponse}},
		{ID: "34", Title: "origin dies mid-body", Modes: both,
			Why: "a short body passed on as complete is silent corruption; the client must see an abort, " +
				"and the request must not be sent again",
			Request: get(DoTruncate),
			Expect: Expect{Status: []int{0, 200, 502}, Forwarded: Exactly(1), Check: func(o *Observation) []string {
				if f := o.First(); f.Status == http.StatusOK && !f.Truncated {
					return []string{"the client got a clean short body"}
				}
				return nil
			}}},
		{ID: "35", Title: "origin refuses the connection", Modes: both,
			NotApplicable: map[Mode]string{
				Reverse: "needs several backends: the failover and passive-ejection scenarios and proxy/reverse's retry specs cover it",
				Forward: "a forward proxy has one destination per request: proxy/forward's specs check the 502",
			},
			Why: "a dial failure sent nothing, so another backend may safely be tried"},
		{ID: "36", Title: "origin too slow to answer a POST", Modes: both, Needs: []Need{NeedHeaderTimeout},
			Why:    "a timeout is 504, and a POST that may have been processed is never sent twice",
			Probe:  probeUpstreamTimeout,
			Expect: Expect{Status: []int{504}, Forwarded: Exactly(1)}},
		{ID: "37", Title: "origin answers 417 to Expect: 100-continue", Modes: both,
			Why:   "CVE-2024-24791: a pooled connection left mid-body poisons the next request",
			Probe: probeExpect417,
			Expect: Expect{Status: []int{417}, Check: func(o *Observation) []string {
				if len(o.Responses) < 2 {
					return []string{"no answer to the request that followed"}
				}
				if last := o.Responses[len(o.Responses)-1]; last.Status != http.StatusOK || !last.FromOrigin() {
					return []string{fmt.Sprintf("the next request got %d", last.Status)}
				}
				return nil
			}}},
		{ID: "38", Title: "twenty reloads at 1,000 requests a second", Modes: both,
			NotApplicable: map[Mode]string{
				Reverse: "a load scenario: scenarios/library/reverse/config-swaps-1k.yaml",
				Forward: "a load scenario: scenarios/library/reverse/config-swaps-1k.yaml (reverse)",
			},
			Why: "a reload that drops requests is an outage every deploy"},
		{ID: "39", Title: "shutdown with open tunnels and WebSockets", Modes: both,
			NotApplicable: map[Mode]string{
				Reverse: "needs the proxy process: the conformance suite's shutdown specs run it on the built-in proxies",
				Forward: "needs the proxy process: the conformance suite's shutdown specs run it on the built-in proxies",
			},
			Why: "hijacked connections escape http.Server.Shutdown and keep a stopping proxy alive"},
	}
}
