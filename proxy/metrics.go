package proxy

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus collectors of one proxy, on a registry of its
// own (never the global one), so several proxies live in one process.
// Label "pool" names the pool (reverse) or route (forward); "upstream" the
// server.
type Metrics struct {
	Registry *prometheus.Registry

	// Requests counts finished requests by pool, upstream and status code.
	Requests *prometheus.CounterVec
	// Errors counts failed attempts by pool, upstream and reason (ReasonFor).
	Errors *prometheus.CounterVec
	// Duration observes the request duration in seconds by pool and upstream.
	Duration *prometheus.HistogramVec
	// Retries counts retried attempts by pool and the upstream retried away from.
	Retries *prometheus.CounterVec
	// Healthy is 1 when the upstream is healthy, 0 when not.
	Healthy *prometheus.GaugeVec
	// Ejections counts passive-health ejections by pool and upstream.
	Ejections *prometheus.CounterVec
	// InFlight is the number of requests in flight by pool and upstream.
	InFlight *prometheus.GaugeVec
}

// NewMetrics builds the collectors with the given namespace (e.g.
// "proxylab_reverse") and registers them, with the Go and process
// collectors, on a fresh registry.
func NewMetrics(namespace string) *Metrics {
	labels := []string{"pool", "upstream"}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total", Help: "Requests served, by pool, upstream and status code.",
		}, []string{"pool", "upstream", "code"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_errors_total", Help: "Failed upstream attempts, by reason.",
		}, []string{"pool", "upstream", "reason"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds", Help: "Request duration through the proxy.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, labels),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "retries_total", Help: "Retried attempts, by the upstream that failed.",
		}, labels),
		Healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "upstream_healthy", Help: "1 if the upstream is available, 0 if not.",
		}, labels),
		Ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_ejections_total", Help: "Passive health ejections.",
		}, labels),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "upstream_in_flight", Help: "Requests in flight to the upstream.",
		}, labels),
	}
	m.Registry.MustRegister(m.Requests, m.Errors, m.Duration, m.Retries, m.Healthy, m.Ejections, m.InFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
