package forward

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// record is one entry of the decision log: what was asked, what was decided
// and why, and what moved. finish logs it and feeds the metrics.
type record struct {
	start   time.Time
	proto   string // "http", "connect" or "socks5"
	client  netip.AddrPort
	user    string
	method  string
	target  string
	dialed  string
	parent  string
	allowed bool
	rule    string
	kind    string // Proxy-Status error type when refused or failed
	status  int
	up      int64 // bytes client → upstream
	down    int64 // bytes upstream → client
}

func (p *Proxy) newRecord(r *http.Request) *record {
	return &record{
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

func (rec *record) allow(rt route) {
	rec.allowed = true
	rec.rule = rt.rule
	rec.target = rt.target()
	if rt.parent != nil {
		rec.parent = rt.parent.url.Host
	} else {
		rec.dialed = rt.dial.String()
	}
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
		slog.String("target", rec.target),
		slog.Int("status", rec.status),
		slog.Int64("bytes_up", rec.up),
		slog.Int64("bytes_down", rec.down),
		slog.Float64("duration_ms", float64(dur.Microseconds())/1000),
	}
	if rec.user != "" {
		attrs = append(attrs, slog.String("user", rec.user))
	}
	if rec.dialed != "" {
		attrs = append(attrs, slog.String("dialed", rec.dialed))
	}
	if rec.parent != "" {
		attrs = append(attrs, slog.String("parent", rec.parent))
	}
	if rec.kind != "" {
		attrs = append(attrs, slog.String("error", rec.kind))
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "forward", attrs...)
}
