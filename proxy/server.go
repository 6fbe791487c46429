package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults applied by ServerConfig when a field is zero.
const (
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultIdleTimeout          = 90 * time.Second
	DefaultMaxHeaderBytes       = 64 << 10
	DefaultShutdownTimeout      = 10 * time.Second
	DefaultMaxConcurrentStreams = 250
	DefaultBodyReadIdleTimeout  = 60 * time.Second
	DefaultWriteIdleTimeout     = 60 * time.Second
)

// Engines that serve HTTP/1.1 on plain listeners (ServerConfig.Engine).
const (
	// EngineProxylab is the server's own keep-alive loop (conn.go): idle
	// connections hold no buffers, and reads of request bodies and writes
	// of responses have idle deadlines.
	EngineProxylab = "proxylab"
	// EngineNetHTTP is net/http's http.Server with the framing check below
	// it.
	EngineNetHTTP = "net/http"
)

// ServerConfig holds the downstream (client-facing) timeouts and limits.
// Every zero value means a safe default, never "unlimited".
type ServerConfig struct {
	// ReadHeaderTimeout bounds reading the request line and headers
	// (slowloris). Zero means DefaultReadHeaderTimeout (10s).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" json:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request including its body. Zero
	// means no bound beyond ReadHeaderTimeout: proxies stream bodies and bound
	// them per request instead. Negative also means none.
	ReadTimeout time.Duration `yaml:"read_timeout" json:"read_timeout"`
	// WriteTimeout bounds writing the response. Zero means none, which
	// streaming responses (SSE, long downloads) need.
	WriteTimeout time.Duration `yaml:"write_timeout" json:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Zero means
	// DefaultIdleTimeout (90s).
	IdleTimeout time.Duration `yaml:"idle_timeout" json:"idle_timeout"`
	// MaxHeaderBytes caps the request line plus headers; beyond it the client
	// gets 431. Zero means DefaultMaxHeaderBytes (64 KiB).
	MaxHeaderBytes int `yaml:"max_header_bytes" json:"max_header_bytes"`
	// ShutdownTimeout bounds Shutdown when its context has no deadline. Zero
	// means DefaultShutdownTimeout (10s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" json:"shutdown_timeout"`
	// MaxConcurrentStreams caps HTTP/2 streams per connection. Zero means
	// DefaultMaxConcurrentStreams (250).
	MaxConcurrentStreams int `yaml:"max_concurrent_streams" json:"max_concurrent_streams"`
	// H2C serves cleartext HTTP/2 (prior knowledge and Upgrade: h2c) beside
	// HTTP/1.1. False means HTTP/1.1 only on plain listeners.
	H2C bool `yaml:"h2c" json:"h2c"`
	// LenientFraming turns off the framing check that Serve puts below
	// net/http on plain listeners (framing.go). False (the default) answers
	// 400 and closes on Content-Length with Transfer-Encoding, obs-fold,
	// chunked HTTP/1.0 requests and malformed chunk extensions.
	LenientFraming bool `yaml:"lenient_framing" json:"lenient_framing"`
	// Engine serves HTTP/1.1 on plain listeners: "proxylab" (the own loop)
	// or "net/http". Empty means "proxylab". On TLS listeners (ServeTLS) the
	// own loop serves HTTP/1.1 and hands connections that negotiate h2 to
	// net/http; with H2C on, HTTP/2 prior-knowledge connections are handed
	// from the own loop to net/http with the bytes already read.
	Engine string `yaml:"engine" json:"engine"`
	// BodyReadIdleTimeout fails a request whose body sends no byte for this
	// long, and closes the connection; every byte read starts it again, so
	// slow but moving uploads are never cut. Zero means
	// DefaultBodyReadIdleTimeout (60s); negative means none. Only the
	// proxylab engine applies it.
	BodyReadIdleTimeout time.Duration `yaml:"body_read_idle_timeout" json:"body_read_idle_timeout"`
	// WriteIdleTimeout closes the connection when a response write makes no
	// progress for this long (a client that stops reading); every byte
	// written starts it again, so slow downloads and event streams are
	// never cut. Zero means DefaultWriteIdleTimeout (60s); negative means
	// none. Only the proxylab engine applies it.
	WriteIdleTimeout time.Duration `yaml:"write_idle_timeout" json:"write_idle_timeout"`
}

// WithDefaults returns c with every zero field replaced by its default.
func (c ServerConfig) WithDefaults() ServerConfig {
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if c.Engine == "" {
		c.Engine = EngineProxylab
	}
	if c.BodyReadIdleTimeout == 0 {
		c.BodyReadIdleTimeout = DefaultBodyReadIdleTimeout
	}
	if c.BodyReadIdleTimeout < 0 {
		c.BodyReadIdleTimeout = 0
	}
	if c.WriteIdleTimeout == 0 {
		c.WriteIdleTimeout = DefaultWriteIdleTimeout
	}
	if c.WriteIdleTimeout < 0 {
		c.WriteIdleTimeout = 0
	}
	if c.ReadTimeout < 0 {
		c.ReadTimeout = 0
	}
	if c.WriteTimeout < 0 {
		c.WriteTimeout = 0
	}
	return c
}

// Validate reports a field of c that has no meaning, or nil.
func (c ServerConfig) Validate() error {
	switch c.Engine {
	case "", EngineProxylab, EngineNetHTTP:
		return nil
	}
	return fmt.Errorf("server engine %q: want %q or %q", c.Engine, EngineProxylab, EngineNetHTTP)
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithErrorLog sends the http.Server's own error lines (TLS handshake errors,
// panics) to fn. By default they are dropped.
func WithErrorLog(fn func(msg string)) ServerOption {
	return func(s *Server) { s.errorLog = fn }
}

// Server serves one handler with every timeout and limit set, tracks hijacked
// connections and closes them on Shutdown.
type Server struct {
	cfg      ServerConfig
	srv      *http.Server
	errorLog func(string)

	mu     sync.Mutex
	ln     net.Listener
	eng    *engine        // nil when net/http serves plain listeners
	ownLns []net.Listener // the listeners the engine accepts from
	h2once sync.Once      // net/http serves handed-over h2c connections
	h2done chan struct{}  // closed once that net/http server returned
	// net/http serves the TLS connections that negotiated h2 (ServeTLS).
	h2tlsOnce sync.Once
	h2tlsDone chan struct{}
	hijacked  map[net.Conn]struct{}
	idle      chan struct{} // closed and replaced when hijacked drops to 0
	closing   bool
}

type serverKey struct{}

// NewServer returns a Server for h. It does not listen until Serve or
// ListenAndServe.
func NewServer(h http.Handler, cfg ServerConfig, opts ...ServerOption) *Server {
	cfg = cfg.WithDefaults()
	s := &Server{cfg: cfg, hijacked: make(map[net.Conn]struct{})}
	for _, o := range opts {
		o(s)
	}
	s.srv = &http.Server{
		Handler:           drainBound{h: h, d: cfg.ReadHeaderTimeout},
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          newErrorLog(s.errorLog),
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(context.Background(), serverKey{}, s) },
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: cfg.MaxConcurrentStreams,
			PingTimeout:          15 * time.Second,
		},
	}
	if cfg.H2C {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetHTTP2(true)
		p.SetUnencryptedHTTP2(true)
		// net/http serves prior-knowledge h2c itself; "Upgrade: h2c" is not
		// honoured (proxies strip it), so such clients stay on HTTP/1.1.
		s.srv.Protocols = p
	}
	if cfg.Engine == EngineProxylab {
		s.eng = newEngine(s, h)
	}
	return s
}

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() ServerConfig { return s.cfg }

// HTTPServer exposes the underlying http.Server, e.g. to set TLSConfig before
// serving. Do not change its handler or timeouts.
func (s *Server) HTTPServer() *http.Server { return s.srv }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown, like a clean exit.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	if err := s.cfg.Validate(); err != nil {
		ln.Close()
		return err
	}
	if s.eng != nil {
		return s.serveOwn(ln)
	}
	if !s.cfg.LenientFraming {
		ln = framingListener{Listener: ln, maxHeader: s.cfg.MaxHeaderBytes}
	}
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// serveOwn serves ln with the own HTTP/1.1 loop; with H2C on, net/http
// serves the HTTP/2 prior-knowledge connections the loop hands over.
func (s *Server) serveOwn(ln net.Listener) error {
	s.mu.Lock()
	s.ownLns = append(s.ownLns, ln)
	closing := s.closing
	s.mu.Unlock()
	if closing {
		ln.Close()
		return nil
	}
	if s.cfg.H2C {
		s.h2once.Do(func() {
			s.eng.h2 = newHandoffListener(ln.Addr())
			s.h2done = make(chan struct{})
			go func() {
				defer close(s.h2done)
				s.srv.Serve(s.eng.h2)
			}()
		})
	}
	err := s.eng.serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeTLS is Serve with TLS, HTTP/2 negotiated by ALPN. The certificate
// comes from certFile and keyFile, or from HTTPServer().TLSConfig. With the
// own loop, HTTP/1.1 over TLS is served like plain HTTP/1.1 (the framing
// check included) and connections that negotiate h2 go to net/http's
// HTTP/2 server; with the net/http engine, net/http serves everything and
// the framing check does not run (net/http must see the *tls.Conn itself).
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	if s.eng != nil {
		if err := s.cfg.Validate(); err != nil {
			ln.Close()
			return err
		}
		return s.serveOwnTLS(ln, certFile, keyFile)
	}
	err := s.srv.ServeTLS(ln, certFile, keyFile)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Listen opens a TCP listener on addr (host:port; port 0 picks a free one)
// without serving yet, so Addr is known before Serve starts.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", addr, err)
	}
	return ln, nil
}

// ListenAndServe listens on addr and serves until Shutdown.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Addr returns the listening address, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting, waits for in-flight requests, then gives hijacked
// connections (WebSockets, tunnels) until the deadline to end on their own
// and closes those still open. Without a deadline on ctx it uses
// ShutdownTimeout. It returns ctx's error if it had to cut something.
// Calling it more than once is safe.
func (s *Server) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
		defer cancel()
	}
	s.mu.Lock()
	s.closing = true
	lns := s.ownLns
	s.mu.Unlock()
	var err error
	if s.eng != nil {
		s.eng.closing.Store(true)
		for _, ln := range lns {
			ln.Close()
		}
		err = s.eng.shutdown(ctx)
	}
	if herr := s.srv.Shutdown(ctx); err == nil {
		err = herr
	}
	s.waitH2()
	if err != nil {
		// Deadline passed with requests still running: cut them.
		s.srv.Close()
		if s.eng != nil {
			s.eng.close()
		}
	}
	for {
		s.mu.Lock()
		if len(s.hijacked) == 0 {
			s.mu.Unlock()
			return err
		}
		if s.idle == nil {
			s.idle = make(chan struct{})
		}
		idle := s.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			s.closeHijacked()
			return ctx.Err()
		}
	}
}

// Close closes the listener and every connection now, hijacked ones included.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	lns := s.ownLns
	s.mu.Unlock()
	if s.eng != nil {
		s.eng.closing.Store(true)
		for _, ln := range lns {
			ln.Close()
		}
		s.eng.close()
	}
	err := s.srv.Close()
	s.waitH2()
	s.closeHijacked()
	return err
}

// waitH2 waits for the net/http server of handed-over h2c connections,
// once its listener is closed.
func (s *Server) waitH2() {
	if s.eng == nil {
		return
	}
	s.h2tlsOnce.Do(func() {}) // never started: nothing to wait for
	if s.h2tlsDone != nil {
		s.eng.h2tls.Close()
		<-s.h2tlsDone
	}
	if !s.cfg.H2C {
		return
	}
	s.h2once.Do(func() {})
	if s.h2done != nil {
		s.eng.h2.Close()
		<-s.h2done
	}
}

func (s *Server) closeHijacked() {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.hijacked))
	for c := range s.hijacked {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// HijackedCount returns the number of tracked hijacked connections.
func (s *Server) HijackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hijacked)
}

func (s *Server) track(c net.Conn) (untrack func()) {
	s.mu.Lock()
	s.hijacked[c] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.hijacked, c)
			if len(s.hijacked) == 0 && s.idle != nil {
				close(s.idle)
				s.idle = nil
			}
			s.mu.Unlock()
		})
	}
}

// TrackHijacked registers a connection taken over from net/http (Hijack) with
// the Server serving r, so that Shutdown closes it by its deadline. Call the
// returned func once the connection is closed. Outside a Server it does
// nothing.
func TrackHijacked(r *http.Request, c net.Conn) (untrack func()) {
	s, _ := r.Context().Value(serverKey{}).(*Server)
	if s == nil {
		return func() {}
	}
	return s.track(c)
}
