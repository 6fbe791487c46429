package forward

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/proxylab/proxylab/proxy"
)

// maxParentBody bounds how much of a parent's refusal body is relayed.
const maxParentBody = 64 << 10

// serveConnect opens a CONNECT tunnel: parse the authority-form target,
// check the tunnel limit and the policy, dial (directly or through a parent)
// before answering, then hijack, answer 200 and relay.
func (p *Proxy) serveConnect(w http.ResponseWriter, r *http.Request, pol *policy, rec *record) {
	host, port, err := ParseAuthority(r.RequestURI)
	if err != nil {
		p.refuse(w, pol, rec, &Denial{Status: http.StatusBadRequest, Kind: "http_request_error", Rule: "authority",
			Detail: "bad CONNECT target, want host:port", Err: err})
		return
	}
	rec.destination(host, port)
	release, d := p.reserveTunnel(pol)
	if d != nil {
		p.refuse(w, pol, rec, d)
		return
	}
	defer release()
	rt, d := p.decide(r.Context(), pol, host, port, true, localAddrPort(r.Context()))
	if d != nil {
		p.refuse(w, pol, rec, d)
		return
	}
	rec.allow(rt)
	upstream, leftover, refusal, err := p.dialRoute(r.Context(), pol, rt)
	if err != nil {
		d := upstreamDenial("connect to "+rt.target(), err)
		d.write(w, pol.cfg.Via)
		rec.status, rec.kind = d.Status, d.Kind
		p.finish(rec)
		return
	}
	if refusal != nil {
		p.relayRefusal(w, refusal, pol, rt, rec)
		p.finish(rec)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		d := &Denial{Status: http.StatusInternalServerError, Kind: "proxy_internal_error", Rule: "hijack",
			Detail: "cannot take over the connection", Err: err}
		d.write(w, pol.cfg.Via)
		rec.status, rec.kind = d.Status, d.Kind
		p.finish(rec)
		return
	}
	untrack := proxy.TrackHijacked(r, conn)
	defer untrack()
	rec.status = http.StatusOK
	t := &tunnel{client: conn, upstream: upstream}
	defer p.tunnels.remove(t)
	if !p.track(&p.tunnels, t) {
		p.finish(rec)
		return
	}

	clearDeadlines(conn)
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\nVia: 1.1 "+pol.cfg.Via+"\r\n\r\n"); err != nil {
		t.close()
		p.finish(rec)
		return
	}
	if err := p.flushEarly(t, leftover, brw.Reader, rec); err != nil {
		t.close()
		p.finish(rec)
		return
	}
	up, down, err := p.relay(t, pol.cfg.Timeouts.TunnelIdle)
	rec.up += up
	rec.down += down
	if err != nil {
		rec.kind = tunnelErrKind(err)
	}
	p.finish(rec)
}

// flushEarly sends what was read before the relay started: bytes the parent
// sent after its 200 go to the client, bytes the client pipelined after
// CONNECT (already in the server's bufio.Reader) go upstream.
func (p *Proxy) flushEarly(t *tunnel, leftover []byte, br *bufio.Reader, rec *record) error {
	if len(leftover) > 0 {
		n, err := t.client.Write(leftover)
		rec.down += int64(n)
		if err != nil {
			return err
		}
	}
	if br == nil || br.Buffered() == 0 {
		return nil
	}
	b, _ := br.Peek(br.Buffered())
	n, err := t.upstream.Write(b)
	rec.up += int64(n)
	return err
}

func tunnelErrKind(err error) string {
	if err == nil {
		return ""
	}
	if strings.Contains(err.Error(), errTunnelIdle.Error()) {
		return "connection_read_timeout"
	}
	return "connection_terminated"
}

// reserveTunnel takes a tunnel slot under limits.max_tunnels.
func (p *Proxy) reserveTunnel(pol *policy) (release func(), d *Denial) {
	n := p.tunnelSlots.Add(1)
	if max := pol.cfg.Limits.MaxTunnels; max > 0 && n > int64(max) {
		p.tunnelSlots.Add(-1)
		return nil, deny(http.StatusServiceUnavailable, "connection_limit_reached", "limits.max_tunnels",
			"too many tunnels (limits.max_tunnels %d)", max)
	}
	return func() { p.tunnelSlots.Add(-1) }, nil
}

// dialRoute opens the upstream side of a tunnel: the vetted address for
// direct routes, or a CONNECT through the parent. A parent that refuses
// (non-2xx) yields its response in refusal, to be passed to the client.
func (p *Proxy) dialRoute(ctx context.Context, pol *policy, rt route) (c net.Conn, leftover []byte, refusal *http.Response, err error) {
	if rt.parent == nil {
		c, err = p.dialVetted(ctx, pol, rt.dial)
		return c, nil, nil, err
	}
	return p.connectViaParent(ctx, pol, rt)
}

// connectViaParent asks the parent proxy for a tunnel to rt's target with
// the proxy's own parent credentials (never the client's).
func (p *Proxy) connectViaParent(ctx context.Context, pol *policy, rt route) (net.Conn, []byte, *http.Response, error) {
	dctx, cancel := context.WithTimeout(ctx, pol.cfg.Timeouts.Dial)
	defer cancel()
	c, err := p.dialer.DialContext(dctx, "tcp", rt.parent.url.Host)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dial parent %s: %w", rt.parent.url.Host, err)
	}
	target := rt.target()
	var req strings.Builder
	fmt.Fprintf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if rt.parent.auth != "" {
		fmt.Fprintf(&req, "Proxy-Authorization: %s\r\n", rt.parent.auth)
	}
	fmt.Fprintf(&req, "Via: 1.1 %s\r\n\r\n", pol.cfg.Via)
	_ = c.SetDeadline(time.Now().Add(pol.cfg.Timeouts.ResponseHeader))
	if _, err := io.WriteString(c, req.String()); err != nil {
		_ = c.Close()
		return nil, nil, nil, fmt.Errorf("send CONNECT to parent %s: %w", rt.parent.url.Host, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		_ = c.Close()
		return nil, nil, nil, fmt.Errorf("read CONNECT answer from parent %s: %w", rt.parent.url.Host, err)
	}
	if resp.StatusCode/100 == 2 {
		_ = c.SetDeadline(time.Time{})
		var leftover []byte
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			leftover = bytes.Clone(b)
		}
		return c, leftover, nil, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxParentBody))
	_ = resp.Body.Close()
	_ = c.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return nil, nil, resp, nil
}

// relayRefusal passes a parent's refusal of CONNECT to the client as it is:
// status, headers (a 407 keeps its Proxy-Authenticate challenge) and body,
// with Proxy-Status naming the parent that answered.
func (p *Proxy) relayRefusal(w http.ResponseWriter, resp *http.Response, pol *policy, rt route, rec *record) {
	challenge := resp.Header.Values("Proxy-Authenticate")
	proxy.RemoveHopByHop(resp.Header)
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	if resp.StatusCode == http.StatusProxyAuthRequired {
		h["Proxy-Authenticate"] = challenge
	}
	h.Set("Proxy-Status", fmt.Sprintf("%s; error=http_request_denied; details=%q", pol.cfg.Via,
		fmt.Sprintf("parent proxy %s answered %d", rt.parent.url.Host, resp.StatusCode)))
	h.Set("Content-Length", fmt.Sprint(resp.ContentLength))
	pol.via.add(h, resp.Proto)
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, resp.Body)
	rec.status, rec.kind, rec.down = resp.StatusCode, "parent_refused", n
}
