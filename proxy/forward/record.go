package forward

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// record is one entry of the decision log: what was asked, what was decided
// and why, and what moved. finish logs it and feeds the metrics. It keeps
// the destination as parsed (host, port, vetted address, parent, URL) and
// formats strings only when the decision log is on; a record lives on its
// handler's stack.
type record struct {
	start   time.Time
	proto   string // "http", "connect" or "socks5"
	client  netip.AddrPort
	user    string
	method  string
	target  string   // the request-target as received, until the destination is parsed
	url     *url.URL // absolute-form: the request URL once allowed
	host    string   // the destination once parsed (CONNECT, SOCKS5) or allowed
	port    uint16
	dial    netip.AddrPort // the vetted address dialled (direct routes)
	parent  *parentRoute   // the parent used (chained routes)
	allowed bool
	rule    string
	kind    string // Proxy-Status error type when refused or failed
	status  int
	up      int64 // bytes client → upstream
	down    int64 // bytes upstream → client
}

func newRecord(r *http.Request) record {
	return record{
		start:  time.Now(),
		proto:  "http",
		client: remoteAddrPort(r),
		method: r.Method,
		target: r.RequestURI,
	}
}

func (rec *record) deny(d *Denial) {
	rec.allowed = false
	rec.status = d.Status
	rec.kind = d.Kind
	if d.Rule != "" {
		rec.rule = d.Rule
	}
}

// destination records a parsed destination.
func (rec *record) destination(host string, port uint16) { rec.host, rec.port = host, port }

func (rec *record) allow(rt route) {
	rec.allowed = true
	rec.rule = rt.rule
	rec.host, rec.port = rt.host, rt.port
	rec.parent = rt.parent
	if rt.parent == nil {
		rec.dial = rt.dial
	}
}

// targetString is the target for the log: the request URL when allowed in
// absolute-form, else host:port once parsed, else the request-target.
func (rec *record) targetString() string {
	switch {
	case rec.url != nil:
		return rec.url.String()
	case rec.host != "":
		return joinHostPort(rec.host, rec.port)
	}
	return rec.target
}

// finish writes the decision log line and updates the metrics.
func (p *Proxy) finish(rec *record) {
	dur := time.Since(rec.start)
	decision := "denied"
	if rec.allowed {
		decision = "allowed"
	}
	p.metrics.observe(rec, decision, dur)
	if !p.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("proto", rec.proto),
		slog.String("decision", decision),
		slog.String("rule", rec.rule),
		slog.String("client", rec.client.String()),
		slog.String("method", rec.method),
		slog.String("target", rec.targetString()),
		slog.Int("status", rec.status),
		slog.Int64("bytes_up", rec.up),
		slog.Int64("bytes_down", rec.down),
		slog.Float64("duration_ms", float64(dur.Microseconds())/1000),
	}
	if rec.user != "" {
		attrs = append(attrs, slog.String("user", rec.user))
	}
	if rec.dial.IsValid() {
		attrs = append(attrs, slog.String("dialed", rec.dial.String()))
	}
	if rec.parent != nil {
		attrs = append(attrs, slog.String("parent", rec.parent.url.Host))
	}
	if rec.kind != "" {
		attrs = append(attrs, slog.String("error", rec.kind))
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "forward", attrs...)
}
