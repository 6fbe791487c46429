package forward

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// SOCKS5 constants (RFC 1928, RFC 1929).
const (
	socksVersion     = 5
	socksAuthVersion = 1
	socksNoAuth      = 0x00
	socksUserPass    = 0x02
	socksNoMethod    = 0xff
	socksCmdConnect  = 0x01
	socksAtypIPv4    = 0x01
	socksAtypDomain  = 0x03
	socksAtypIPv6    = 0x04

	socksSucceeded       = 0x00
	socksGeneralFailure  = 0x01
	socksNotAllowed      = 0x02
	socksHostUnreachable = 0x04
	socksRefused         = 0x05
	socksCmdUnsupported  = 0x07
	socksAtypUnsupported = 0x08
)

// ServeSOCKS serves SOCKS5 (CONNECT only; no-auth, or user/password when
// the policy has auth) on ln under the same admission, ACL, port policy and
// SSRF guard as the HTTP listener. It returns nil once ln is closed or the
// proxy is closed, after the connections it accepted have ended.
func (p *Proxy) ServeSOCKS(ln net.Listener) error {
	p.addSelf(ln.Addr())
	stop := context.AfterFunc(p.ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("socks5 accept on %s: %w", ln.Addr(), err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.serveSOCKSConn(c)
		}()
	}
}

// serveSOCKSConn runs one SOCKS5 session from greeting to the end of its tunnel.
func (p *Proxy) serveSOCKSConn(c net.Conn) {
	pol := p.pol.Load()
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	rec := &record{start: time.Now(), proto: "socks5", client: unmapPort(ap), method: "CONNECT"}
	t := &tunnel{client: c}
	defer p.handshakes.remove(t)
	if !p.track(&p.handshakes, t) { // so Close ends a session stuck in its handshake
		return
	}
	_ = c.SetDeadline(time.Now().Add(pol.cfg.Timeouts.ClientHeader))

	host, port, d := p.socksHandshake(c, pol, rec)
	if d != nil {
		rec.deny(d)
		p.finish(rec)
		t.close()
		return
	}
	rec.destination(host, port)
	fail := func(d *Denial) {
		_ = writeSOCKSReply(c, socksReplyFor(d), nil)
		rec.deny(d)
		p.finish(rec)
		t.close()
	}
	if d := p.admitSOCKS(pol, rec); d != nil {
		fail(d)
		return
	}
	release, d := p.reserveTunnel(pol)
	if d != nil {
		fail(d)
		return
	}
	defer release()
	rt, d := p.decide(p.ctx, pol, host, port, true, localOf(c))
	if d != nil {
		fail(d)
		return
	}
	rec.allow(rt)
	upstream, leftover, refusal, err := p.dialRoute(p.ctx, pol, rt)
	if refusal != nil {
		err = fmt.Errorf("parent proxy %s answered %s", rt.parent.url.Host, refusal.Status)
	}
	if err != nil {
		d := upstreamDenial("connect to "+rt.target(), err)
		_ = writeSOCKSReply(c, socksReplyFor(d), nil)
		rec.status, rec.kind = d.Status, d.Kind
		p.finish(rec)
		t.close()
		return
	}
	if !t.setUpstream(upstream) {
		p.finish(rec)
		return
	}
	p.handshakes.remove(t)
	defer p.tunnels.remove(t)
	if !p.track(&p.tunnels, t) {
		p.finish(rec)
		return
	}
	if err := writeSOCKSReply(c, socksSucceeded, upstream.LocalAddr()); err != nil {
		t.close()
		p.finish(rec)
		return
	}
	rec.status = http.StatusOK
	if err := p.flushEarly(t, leftover, nil, rec); err != nil {
		t.close()
		p.finish(rec)
		return
	}
	up, down, err := p.relay(t, pol.cfg.Timeouts.TunnelIdle)
	rec.up += up
	rec.down += down
	rec.kind = tunnelErrKind(err)
	p.finish(rec)
}

// admitSOCKS applies the rate limit and the client ACL.
func (p *Proxy) admitSOCKS(pol *policy, rec *record) *Denial {
	if !p.rates.allow(rec.client.Addr(), pol.cfg.Limits.RatePerClient) {
		return deny(http.StatusTooManyRequests, "connection_limit_reached", "limits.rate_per_client",
			"client %s is over %g requests/s", rec.client.Addr(), pol.cfg.Limits.RatePerClient)
	}
	if ok, rule := pol.clientAllowed(rec.client.Addr()); !ok {
		return deny(http.StatusForbidden, "http_request_denied", rule, "client %s is not allowed", rec.client.Addr())
	}
	return nil
}

// socksHandshake negotiates the method, authenticates and reads the
// request. Protocol errors are answered here; the Denial is for the log.
func (p *Proxy) socksHandshake(c net.Conn, pol *policy, rec *record) (string, uint16, *Denial) {
	bad := func(format string, a ...any) *Denial {
		return deny(http.StatusBadRequest, "http_request_error", "socks5", format, a...)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", 0, bad("reading the greeting: %v", err)
	}
	if hdr[0] != socksVersion {
		return "", 0, bad("version %d, want 5", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return "", 0, bad("reading the methods: %v", err)
	}
	want := byte(socksNoAuth)
	if len(pol.users) > 0 {
		want = socksUserPass
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		_, _ = c.Write([]byte{socksVersion, socksNoMethod})
		return "", 0, deny(http.StatusProxyAuthRequired, "http_request_denied", "auth",
			"client offered no acceptable method (want %#x)", want)
	}
	if _, err := c.Write([]byte{socksVersion, want}); err != nil {
		return "", 0, bad("writing the method: %v", err)
	}
	if want == socksUserPass {
		if d := p.socksAuth(c, pol, rec); d != nil {
			return "", 0, d
		}
	}
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return "", 0, bad("reading the request: %v", err)
	}
	if req[0] != socksVersion {
		return "", 0, bad("request version %d, want 5", req[0])
	}
	if req[1] != socksCmdConnect {
		_ = writeSOCKSReply(c, socksCmdUnsupported, nil)
		return "", 0, bad("command %d is not supported, only CONNECT", req[1])
	}
	host, err := readSOCKSAddr(c, req[3])
	if err != nil {
		_ = writeSOCKSReply(c, socksAtypUnsupported, nil)
		return "", 0, bad("destination: %v", err)
	}
	var pb [2]byte
	if _, err := io.ReadFull(c, pb[:]); err != nil {
		return "", 0, bad("reading the port: %v", err)
	}
	port := binary.BigEndian.Uint16(pb[:])
	canon, _, err := parseAuthority(joinHostPort(host, port), 0)
	if err != nil || port == 0 {
		_ = writeSOCKSReply(c, socksGeneralFailure, nil)
		return "", 0, bad("destination %q port %d: %v", host, port, err)
	}
	return canon, port, nil
}

// socksAuth runs the RFC 1929 username/password subnegotiation.
func (p *Proxy) socksAuth(c net.Conn, pol *policy, rec *record) *Denial {
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != socksAuthVersion {
		return deny(http.StatusBadRequest, "http_request_error", "socks5", "bad username/password subnegotiation")
	}
	user := make([]byte, b[1])
	if _, err := io.ReadFull(c, user); err != nil {
		return deny(http.StatusBadRequest, "http_request_error", "socks5", "reading the user name: %v", err)
	}
	var pl [1]byte
	if _, err := io.ReadFull(c, pl[:]); err != nil {
		return deny(http.StatusBadRequest, "http_request_error", "socks5", "reading the password length: %v", err)
	}
	pass := make([]byte, pl[0])
	if _, err := io.ReadFull(c, pass); err != nil {
		return deny(http.StatusBadRequest, "http_request_error", "socks5", "reading the password: %v", err)
	}
	rec.user = string(user)
	if !checkUser(pol, string(user), string(pass)) {
		_, _ = c.Write([]byte{socksAuthVersion, 1})
		return deny(http.StatusProxyAuthRequired, "http_request_denied", "auth", "bad credentials for user %q", user)
	}
	_, _ = c.Write([]byte{socksAuthVersion, 0})
	return nil
}

func readSOCKSAddr(r io.Reader, atyp byte) (string, error) {
	switch atyp {
	case socksAtypIPv4:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		return netip.AddrFrom4(b).String(), nil
	case socksAtypIPv6:
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		return netip.AddrFrom16(b).String(), nil
	case socksAtypDomain:
		var l [1]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return "", err
		}
		b := make([]byte, l[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b), nil
	default:
		return "", fmt.Errorf("address type %d, want 1, 3 or 4", atyp)
	}
}

// writeSOCKSReply writes a reply; bound may be nil (then 0.0.0.0:0).
func writeSOCKSReply(c net.Conn, rep byte, bound net.Addr) error {
	ap := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if bound != nil {
		if a, err := netip.ParseAddrPort(bound.String()); err == nil {
			ap = unmapPort(a)
		}
	}
	b := []byte{socksVersion, rep, 0}
	if ap.Addr().Is4() {
		b = append(b, socksAtypIPv4)
	} else {
		b = append(b, socksAtypIPv6)
	}
	b = append(b, ap.Addr().AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, ap.Port())
	_, err := c.Write(b)
	return err
}

// socksReplyFor maps a Denial to the closest SOCKS5 reply code.
func socksReplyFor(d *Denial) byte {
	switch {
	case d.Status == http.StatusForbidden || d.Status == http.StatusTooManyRequests || d.Status == http.StatusLoopDetected:
		return socksNotAllowed
	case d.Kind == "connection_refused":
		return socksRefused
	case d.Kind == "dns_error" || d.Kind == "connection_timeout" || d.Kind == "destination_unavailable":
		return socksHostUnreachable
	default:
		return socksGeneralFailure
	}
}

func localOf(c net.Conn) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(c.LocalAddr().String())
	return unmapPort(ap)
}
