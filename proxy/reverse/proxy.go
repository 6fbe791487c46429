package reverse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/balance"
)

// Proxy is the reverse proxy; it is an http.Handler. Serve it with
// proxy.NewServer(p, cfg.ServerConfig()). Its configuration changes at run
// time through the control methods (control.go), never by editing Config.
type Proxy struct {
	state   atomic.Pointer[state]
	mu      sync.Mutex // serialises control operations and Swap
	rp      *httputil.ReverseProxy
	tr      *transports
	metrics *proxy.Metrics
	log     *proxy.AccessLog
	seed    uint64
	tlsCfg  *tls.Config
	ctx     context.Context // health checkers run under it
	cancel  context.CancelFunc
	closed  bool
	stdOnly bool // WithStdTransport
	rngMu   sync.Mutex
	rng     *rand.Rand // backoff jitter, seeded by WithSeed
}

// Option configures New.
type Option func(*Proxy)

// WithAccessLog writes one JSON line per request to w; nil means off (the
// default).
func WithAccessLog(w io.Writer) Option {
	return func(p *Proxy) { p.log = proxy.NewAccessLog(w) }
}

// WithMetrics uses m instead of a fresh proxy.NewMetrics("proxylab_reverse").
func WithMetrics(m *proxy.Metrics) Option {
	return func(p *Proxy) { p.metrics = m }
}

// WithSeed seeds the balancers and health check jitter; the default is 0.
func WithSeed(seed uint64) Option {
	return func(p *Proxy) { p.seed = seed }
}

// WithUpstreamTLS sets the TLS client configuration for https:// servers.
func WithUpstreamTLS(c *tls.Config) Option {
	return func(p *Proxy) { p.tlsCfg = c }
}

// WithStdTransport sends every request through http.Transport, turning off
// the in-goroutine HTTP/1.1 client used for plain requests (for comparison
// and as an escape hatch).
func WithStdTransport() Option {
	return func(p *Proxy) { p.stdOnly = true }
}

// New builds a Proxy from cfg and starts its health checkers. Close stops
// them.
func New(cfg Config, opts ...Option) (*Proxy, error) {
	p := &Proxy{}
	for _, o := range opts {
		o(p)
	}
	if p.metrics == nil {
		p.metrics = proxy.NewMetrics("proxylab_reverse")
	}
	p.rng = rand.New(rand.NewPCG(p.seed, 0x7265766572736521))
	d, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p.tr = newTransports(d, p.tlsCfg, !p.stdOnly)
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      roundTripper{p: p},
		FlushInterval:  0, // text/event-stream and unknown-length streams flush at once anyway
		BufferPool:     copyBuffers{},
		ErrorHandler:   p.errorHandler,
		ModifyResponse: p.modifyResponse,
		ErrorLog:       log.New(io.Discard, "", 0), // errors reach the access log and metrics instead
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	st, err := p.build(d, nil)
	if err != nil {
		p.cancel()
		return nil, err
	}
	for _, pl := range st.order {
		if err := pl.start(p.ctx); err != nil {
			p.stopPools(st.order)
			p.cancel()
			return nil, err
		}
	}
	p.state.Store(st)
	return p, nil
}

// Metrics returns the proxy's collectors; Metrics().Handler() serves them.
func (p *Proxy) Metrics() *proxy.Metrics { return p.metrics }

// MetricsHandler serves the proxy's Prometheus metrics.
func (p *Proxy) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.refreshGauges()
		p.metrics.Handler().ServeHTTP(w, r)
	})
}

// Config returns the configuration in use, defaults applied.
func (p *Proxy) Config() Config { return p.state.Load().liveConfig() }

// Close stops the health checkers and closes idle upstream connections. In-
// flight requests finish. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.stopPools(p.state.Load().order)
	p.cancel()
	p.tr.closeIdle()
	return nil
}

func (p *Proxy) stopPools(pools []*pool) {
	for _, pl := range pools {
		pl.stop()
	}
}

// ServeHTTP proxies one request:
//
//	loop check → route → body limits → direct path | ReverseProxy(Rewrite → attempts) → log, metrics
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The direct path runs deep under this frame; what only rejections and
	// the httputil path need lives in admit and serveStd, so that the stack
	// a request needs stays small (a handler goroutine of the server engine
	// starts small and grows by copying).
	start := time.Now()
	st := p.state.Load()
	pl := p.admit(w, r, st, start)
	if pl == nil {
		return
	}
	rs := getReqState(st, pl)
	defer putReqState(rs)
	if err := rs.body.prepare(r, int64(st.cfg.Limits.ReplayBytes)); err != nil {
		p.reject(w, r, start, err)
		return
	}
	pl.live.Add(1)
	defer pl.live.Add(-1)

	var lw *logWriter
	if p.log.Enabled() {
		lw = &logWriter{ResponseWriter: w}
		w = lw
	}
	if !p.fastOK(pl, r, rs) {
		p.serveStd(w, r, rs, start, lw)
		return
	}
	defer p.finish(rs, r, start, lw) // also when the copy aborts with a panic
	p.serveFast(w, r, rs, start)
}

// admit runs the checks before any upstream work (Via loop, route, body
// limit) and returns the pool, or nil once it has answered the request.
func (p *Proxy) admit(w http.ResponseWriter, r *http.Request, st *state, start time.Time) *pool {
	if st.via != "" && proxy.ViaContains(r.Header, st.via) {
		p.reject(w, r, start, proxy.ErrLoop)
		return nil
	}
	pl := st.router.match(r)
	if pl == nil {
		if r.TLS != nil && r.TLS.ServerName != "" && !strings.EqualFold(r.TLS.ServerName, requestHost(r)) {
			p.reject(w, r, start, &proxy.Error{Status: http.StatusMisdirectedRequest, Reason: "misdirected",
				Err: fmt.Errorf("host %q does not match TLS server name %q", r.Host, r.TLS.ServerName)})
			return nil
		}
		p.reject(w, r, start, &proxy.Error{Status: http.StatusNotFound, Reason: "no_route",
			Err: fmt.Errorf("%w for host %q path %q", proxy.ErrNoRoute, r.Host, r.URL.Path)})
		return nil
	}
	if limit := int64(st.cfg.Limits.MaxBodyBytes); limit > 0 && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > limit {
			p.reject(w, r, start, &proxy.Error{Status: http.StatusRequestEntityTooLarge, Reason: "body_too_large",
				Err: fmt.Errorf("%w: Content-Length %d over the limit of %d bytes", proxy.ErrBodyTooLarge, r.ContentLength, limit)})
			return nil
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	return pl
}

// serveStd proxies through httputil.ReverseProxy: Rewrite, then the
// attempts in roundTripper.
func (p *Proxy) serveStd(w http.ResponseWriter, r *http.Request, rs *reqState, start time.Time, lw *logWriter) {
	if proxy.UpgradeType(r.Header) != "" {
		w = proxy.TrackUpgrades(w, r)
	}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, rs))
	defer p.finish(rs, r, start, lw) // also when ReverseProxy aborts with a panic
	p.rp.ServeHTTP(w, r)
}

// finish releases the chosen server and records metrics and the access log.
func (p *Proxy) finish(rs *reqState, r *http.Request, start time.Time, lw *logWriter) {
	if rs.cancel != nil {
		rs.cancel()
	}
	d := time.Since(start)
	status := rs.status
	if rec := recover(); rec != nil {
		if status == 0 || status < 400 {
			status = 502 // the response broke off mid-body
		}
		defer panic(rec)
	}
	upstream := ""
	if s := rs.server; s != nil {
		upstream = s.spec.Name
		s.up.Release()
		s.mInFlight.Dec()
		rs.releaseSlot()
		s.mDuration.Observe(d.Seconds())
		s.mRequests.WithLabelValues(statusText(status)).Inc()
	} else {
		p.metrics.Requests.WithLabelValues(rs.pool.name, "", statusText(status)).Inc()
	}
	if lw != nil {
		e := &proxy.AccessEntry{
			Time: start, ID: r.Header.Get("X-Proxylab-Id"), Client: r.RemoteAddr, Method: r.Method,
			Target: r.RequestURI, Host: r.Host, Proto: r.Proto, Status: status, Bytes: lw.bytes,
			Duration: d, Route: rs.pool.name, Upstream: upstream, Attempts: rs.attempts,
			Tried: append([]string(nil), rs.tried...),
		}
		if rs.err != nil {
			e.Error = rs.err.Error()
		}
		p.log.Log(e)
	}
}

// statusText is the metrics label of a status: its three digits, "0" out
// of range; taken from a table so that no request allocates it.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		return statusTexts[code-100]
	}
	return "0"
}

var statusTexts = func() (t [500]string) {
	for i := range t {
		t[i] = strconv.Itoa(100 + i)
	}
	return t
}()

// reject answers a request that never reached the round tripper.
func (p *Proxy) reject(w http.ResponseWriter, r *http.Request, start time.Time, err error) {
	status := proxy.StatusFor(err)
	proxy.WriteError(w, err)
	p.metrics.Requests.WithLabelValues("", "", statusText(status)).Inc()
	if p.log.Enabled() {
		p.log.Log(&proxy.AccessEntry{
			Time: start, ID: r.Header.Get("X-Proxylab-Id"), Client: r.RemoteAddr, Method: r.Method,
			Target: r.RequestURI, Host: r.Host, Proto: r.Proto, Status: status, Duration: time.Since(start),
			Error: err.Error(),
		})
	}
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	rs := stateFrom(pr.In)
	rs.st.rewrite(pr, &rs.fields, &rs.fwdParts)
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	rs := stateFrom(resp.Request)
	if rs == nil {
		return nil
	}
	rs.status = resp.StatusCode
	if rs.st.via != "" {
		// RFC 9110 §7.6.3: a proxy adds Via to the messages it forwards, both ways.
		if _, ok := resp.Header["Via"]; ok || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
			proxy.AddVia(resp.Header, resp.Proto, rs.st.via)
		} else {
			resp.Header["Via"] = rs.st.via11s
		}
	}
	if rs.st.cfg.RetryHeader {
		resp.Header.Set("X-Proxylab-Retries", rs.retryRecord())
	}
	if rp, ok := rs.pool.balancer.(balance.Responder); ok && rs.server != nil {
		// Sticky policies tell the client where it landed (Set-Cookie).
		rp.Chosen(headerWriter(resp.Header), resp.Request, rs.server.up)
	}
	return nil
}

// headerWriter lets a balance.Responder add headers to an upstream response
// before ReverseProxy copies it.
type headerWriter http.Header

func (h headerWriter) Header() http.Header       { return http.Header(h) }
func (headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (headerWriter) WriteHeader(int)             {}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	p.writeError(w, stateFrom(r), err)
}

// writeError answers a request whose attempts failed with the status for
// err, recording it for the access log and metrics.
func (p *Proxy) writeError(w http.ResponseWriter, rs *reqState, err error) {
	if rs != nil {
		if cerr := rs.body.clientErr(); cerr != nil && !errors.Is(err, proxy.ErrClientBody) {
			err = cerr
		}
		rs.err = err
		rs.status = proxy.StatusFor(err)
		if rs.st.cfg.RetryHeader && rs.attempts > 0 {
			w.Header().Set("X-Proxylab-Retries", rs.retryRecord())
		}
	}
	proxy.WriteError(w, err)
}

// retryRecord renders "attempts=N; tried=a,b".
func (rs *reqState) retryRecord() string {
	return "attempts=" + strconv.Itoa(rs.attempts) + "; tried=" + strings.Join(rs.tried, ",")
}

// logWriter counts response bytes for the access log.
type logWriter struct {
	http.ResponseWriter
	bytes int64
}

func (l *logWriter) Write(b []byte) (int, error) {
	n, err := l.ResponseWriter.Write(b)
	l.bytes += int64(n)
	return n, err
}

// Flush passes a flush on, so streamed responses reach the client at once.
func (l *logWriter) Flush() {
	if f, ok := l.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (l *logWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// copyBuffers pools the 32 KiB copy buffers ReverseProxy would allocate per
// response.
type copyBuffers struct{}

const copyBufSize = 32 << 10

var copyBufPool = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

func (copyBuffers) Get() []byte { return copyBufPool.Get().(*[copyBufSize]byte)[:] }

// Put takes back a buffer from Get; the array pointer conversion keeps Put
// free of allocations.
func (copyBuffers) Put(b []byte) {
	if len(b) == copyBufSize {
		copyBufPool.Put((*[copyBufSize]byte)(b))
	}
}

var (
	_ http.Handler        = (*Proxy)(nil)
	_ http.RoundTripper   = roundTripper{}
	_ httputil.BufferPool = copyBuffers{}
)
