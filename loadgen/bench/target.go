package bench

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// urlTarget is a --target: a URL already running.
type urlTarget struct {
	raw     string
	forward bool   // proxy+http://: a forward proxy to the backend
	url     string // where requests go (reverse), or the proxy URL (forward)
	addr    string // host:port
}

// parseTarget reads "http://HOST:PORT/path" or "proxy+http://HOST:PORT".
func parseTarget(s string) (urlTarget, error) {
	t := urlTarget{raw: s}
	raw := s
	if rest, ok := strings.CutPrefix(s, "proxy+"); ok {
		t.forward, raw = true, rest
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return t, fmt.Errorf("target %q: want http://HOST:PORT/path (requests go to it) or proxy+http://HOST:PORT (a forward proxy to the backend)", s)
	}
	if err := loopbackAddr(hostPortOf(u)); err != nil {
		return t, fmt.Errorf("target %q: %v (bench only talks to loopback)", s, err)
	}
	t.url, t.addr = raw, hostPortOf(u)
	if t.forward {
		t.url = "http://" + u.Host
	}
	return t, nil
}

func hostPortOf(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return u.Host
}
