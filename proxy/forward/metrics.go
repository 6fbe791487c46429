package forward

import (
	"errors"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the proxy's Prometheus series, on its own registry. The
// series a request counts in are looked up through caches keyed by their
// labels: a vector's WithLabelValues validates and hashes every value on
// each call, 3 % of the absolute-form path's user time.
type metrics struct {
	requests *prometheus.CounterVec   // proto, decision, error, code
	bytes    *prometheus.CounterVec   // proto, direction
	duration *prometheus.HistogramVec // proto, decision

	requestSeries  seriesCache[requestLabels, prometheus.Counter]
	byteSeries     seriesCache[[2]string, prometheus.Counter]
	durationSeries seriesCache[[2]string, prometheus.Observer]
}

// requestLabels are the labels of proxylab_forward_requests_total.
type requestLabels struct {
	proto, decision, kind string
	status                int
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
	m.requestSeries.series = func(l requestLabels) prometheus.Counter {
		return m.requests.WithLabelValues(l.proto, l.decision, l.kind, statusLabel(l.status))
	}
	m.byteSeries.series = func(l [2]string) prometheus.Counter { return m.bytes.WithLabelValues(l[0], l[1]) }
	m.durationSeries.series = func(l [2]string) prometheus.Observer { return m.duration.WithLabelValues(l[0], l[1]) }
	var errs []error
	for _, c := range []prometheus.Collector{m.requests, m.bytes, m.duration, tunnels, conns} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

func (m *metrics) observe(rec *record, decision string, dur time.Duration) {
	m.requestSeries.get(requestLabels{rec.proto, decision, rec.kind, rec.status}).Inc()
	if rec.up > 0 {
		m.byteSeries.get([2]string{rec.proto, "up"}).Add(float64(rec.up))
	}
	if rec.down > 0 {
		m.byteSeries.get([2]string{rec.proto, "down"}).Add(float64(rec.down))
	}
	m.durationSeries.get([2]string{rec.proto, decision}).Observe(dur.Seconds())
}

// maxCachedSeries bounds a seriesCache: past it, lookups go to the vector.
const maxCachedSeries = 1024

// seriesCache maps label values to the series of a vector: reads take a
// copy-on-write map without a lock; a new label set copies it once.
type seriesCache[K comparable, S any] struct {
	cur    atomic.Pointer[map[K]S]
	mu     sync.Mutex
	series func(K) S // the vector's lookup
}

func (c *seriesCache[K, S]) get(k K) S {
	if m := c.cur.Load(); m != nil {
		if s, ok := (*m)[k]; ok {
			return s
		}
	}
	s := c.series(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[K]S{}
	if old := c.cur.Load(); old != nil {
		if len(*old) >= maxCachedSeries {
			return s
		}
		next = maps.Clone(*old)
	}
	next[k] = s
	c.cur.Store(&next)
	return s
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
