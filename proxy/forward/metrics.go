package forward

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the proxy's Prometheus series, on its own registry.
type metrics struct {
	requests *prometheus.CounterVec   // proto, decision, error, code
	bytes    *prometheus.CounterVec   // proto, direction
	duration *prometheus.HistogramVec // proto, decision
}

func newMetrics(reg prometheus.Registerer, p *Proxy) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "proxylab", Subsystem: "forward", Name: "requests_total",
			Help: "Requests, CONNECT tunnels and SOCKS5 connects by protocol, decision, error type and status.",
		}, []string{"proto", "decision", "error", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "proxylab", Subsystem: "forward", Name: "bytes_total",
			Help: "Bytes relayed, up (client to upstream) and down.",
		}, []string{"proto", "direction"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "proxylab", Subsystem: "forward", Name: "duration_seconds",
			Help:    "Time from admission to the end of a request or tunnel.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"proto", "decision"}),
	}
	tunnels := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "proxylab", Subsystem: "forward", Name: "tunnels_open",
		Help: "CONNECT and SOCKS5 tunnels open now.",
	}, func() float64 { return float64(p.tunnels.len()) })
	conns := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "proxylab", Subsystem: "forward", Name: "client_conns_open",
		Help: "Client connections open now on listeners wrapped by Proxy.Listener.",
	}, func() float64 { return float64(p.conns.Load()) })
	var errs []error
	for _, c := range []prometheus.Collector{m.requests, m.bytes, m.duration, tunnels, conns} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

func (m *metrics) observe(rec *record, decision string, dur time.Duration) {
	m.requests.WithLabelValues(rec.proto, decision, rec.kind, statusLabel(rec.status)).Inc()
	if rec.up > 0 {
		m.bytes.WithLabelValues(rec.proto, "up").Add(float64(rec.up))
	}
	if rec.down > 0 {
		m.bytes.WithLabelValues(rec.proto, "down").Add(float64(rec.down))
	}
	m.duration.WithLabelValues(rec.proto, decision).Observe(dur.Seconds())
}

// MetricsHandler serves the proxy's registry in the Prometheus text format.
func (p *Proxy) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{Registry: p.registry})
}

// statusLabels are the "code" label values of 100-599, built once so that
// counting a request formats no number.
var statusLabels = func() (l [600]string) {
	for i := 100; i < len(l); i++ {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

// statusLabel is code as a label value; codes outside 100-599 (0 when no
// response was written) are formatted.
func statusLabel(code int) string {
	if code >= 100 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}
