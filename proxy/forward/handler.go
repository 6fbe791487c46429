package forward

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/proxylab/proxylab/proxy"
)

// ServeHTTP admits the request (rate, client ACL, auth, loop detection) and
// then serves it as a CONNECT tunnel or an absolute-form request. An
// origin-form request ("GET /path") is answered 400: the forward listener is
// never a reverse proxy.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pol := p.pol.Load()
	rec := newRecord(r)
	if r.Method == http.MethodConnect {
		rec.proto = "connect"
	}
	if d := p.admit(r, pol, &rec); d != nil {
		p.refuse(w, pol, &rec, d)
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		p.serveConnect(w, r, pol, &rec)
	case r.URL.IsAbs() && r.URL.Host != "":
		p.serveHTTP(w, r, pol, &rec)
	default:
		p.refuse(w, pol, &rec, deny(http.StatusBadRequest, "http_request_error", "origin-form",
			"%q is origin-form; a forward proxy wants an absolute URL such as http://host/path", r.RequestURI))
	}
}

// admit runs the checks that need no destination.
func (p *Proxy) admit(r *http.Request, pol *policy, rec *record) *Denial {
	if !p.rates.allow(rec.client.Addr(), pol.cfg.Limits.RatePerClient) {
		return deny(http.StatusTooManyRequests, "connection_limit_reached", "limits.rate_per_client",
			"client %s is over %g requests/s", rec.client.Addr(), pol.cfg.Limits.RatePerClient)
	}
	if ok, rule := pol.clientAllowed(rec.client.Addr()); !ok {
		return deny(http.StatusForbidden, "http_request_denied", rule, "client %s is not allowed", rec.client.Addr())
	}
	if d := p.authenticate(r.Header.Get("Proxy-Authorization"), pol, rec); d != nil {
		return d
	}
	if proxy.ViaContains(r.Header, pol.cfg.Via) {
		return deny(http.StatusLoopDetected, "proxy_loop_detected", "via",
			"the request already passed through %s", pol.cfg.Via)
	}
	return nil
}

// authenticate checks a Proxy-Authorization value against pol's users.
func (p *Proxy) authenticate(value string, pol *policy, rec *record) *Denial {
	if len(pol.users) == 0 {
		return nil
	}
	user, pass, ok := parseBasic(value)
	if !ok {
		return deny(http.StatusProxyAuthRequired, "http_request_denied", "auth", "proxy authentication required")
	}
	rec.user = user
	if !checkUser(pol, user, pass) {
		return deny(http.StatusProxyAuthRequired, "http_request_denied", "auth", "bad credentials for user %q", user)
	}
	return nil
}

// checkUser compares in constant time per candidate so timing does not tell
// a right password from a wrong one.
func checkUser(pol *policy, user, pass string) bool {
	want, ok := pol.users[user]
	if !ok {
		want = "\x00never"
	}
	eq := subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1
	return ok && eq
}

func parseBasic(v string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok
}

// refuse answers a denial and records it.
func (p *Proxy) refuse(w http.ResponseWriter, pol *policy, rec *record, d *Denial) {
	d.write(w, pol.cfg.Via)
	rec.deny(d)
	p.finish(rec)
}

// remoteAddrPort parses r.RemoteAddr; a bad one yields the zero value.
func remoteAddrPort(r *http.Request) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return unmapPort(ap)
}

// localAddrPort is the listener address the request arrived on.
func localAddrPort(ctx context.Context) netip.AddrPort {
	a, ok := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return netip.AddrPort{}
	}
	if ta, ok := a.(*net.TCPAddr); ok { // no string round trip: two allocations per request
		return unmapPort(ta.AddrPort())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return unmapPort(ap)
}

// clearDeadlines undoes the server's read/write deadlines on a hijacked conn.
func clearDeadlines(c net.Conn) { _ = c.SetDeadline(time.Time{}) }

var _ http.Handler = (*Proxy)(nil)
