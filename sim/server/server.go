package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// Server is one simulated HTTP server. It is safe for concurrent use.
type Server struct {
	cfg  Config
	opts options

	behaviour atomic.Pointer[Behaviour]
	healthy   atomic.Bool
	seq       atomic.Uint64

	mu    sync.Mutex
	bound string       // host:port first bound; Recover listens here again
	cur   *incarnation // nil when not serving

	stats    counters
	receipts receiptRing
}

// incarnation is one listen-and-serve life of a Server, ended by Stop or Crash.
type incarnation struct {
	ln       *trackedListener
	srv      *http.Server
	gate     *gate
	stopping chan struct{} // closed by Stop and Crash: stalls, streams and sockets end
	killed   chan struct{} // closed by Crash (or a Stop past its deadline): everything ends
	served   chan struct{} // closed when Serve returns
	once     sync.Once
}

// New checks cfg and returns a Server that is not yet listening.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.normalize()
	if err := cfg.Behaviour.Validate(); err != nil {
		return nil, fmt.Errorf("server %s: %w", cfg.Name, err)
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("server %s: address %q: want HOST:PORT like 127.0.1.1:0", cfg.Name, cfg.Addr)
	}
	s := &Server{cfg: cfg, opts: buildOptions(opts)}
	b := cfg.Behaviour
	s.behaviour.Store(&b)
	s.healthy.Store(true)
	s.stats.init()
	s.receipts.limit = s.opts.receiptLimit
	return s, nil
}

// Name returns the server's name.
func (s *Server) Name() string { return s.cfg.Name }

// Start listens on Config.Addr and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	addr := s.cfg.Addr
	if s.bound != "" {
		addr = s.bound
	}
	return s.startLocked(addr)
}

// Recover listens again on the address:port first bound, after Crash or Stop.
func (s *Server) Recover() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound == "" {
		return fmt.Errorf("server %s: recover: never started", s.cfg.Name)
	}
	return s.startLocked(s.bound)
}

func (s *Server) startLocked(addr string) error {
	if s.cur != nil {
		return fmt.Errorf("server %s: already serving on %s", s.cfg.Name, s.bound)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server %s: listen %s: %w", s.cfg.Name, addr, err)
	}
	s.bound = ln.Addr().String()
	inc := &incarnation{
		ln:       newTrackedListener(ln.(*net.TCPListener)),
		gate:     newGate(),
		stopping: make(chan struct{}),
		killed:   make(chan struct{}),
		served:   make(chan struct{}),
	}
	inc.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          s.opts.errorLog,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	h2s := &http2.Server{}
	// ConfigureServer makes Shutdown send GOAWAY on h2c connections too.
	if err := http2.ConfigureServer(inc.srv, h2s); err != nil {
		_ = ln.Close()
		return fmt.Errorf("server %s: configure h2c: %w", s.cfg.Name, err)
	}
	inc.srv.Handler = gated(inc, h2c.NewHandler(s.routes(inc), h2s))
	if s.cfg.TLS {
		host, _, _ := net.SplitHostPort(s.bound)
		cert, err := SelfSigned(s.cfg.Name, host)
		if err != nil {
			_ = ln.Close()
			return err
		}
		inc.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
		inc.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	s.cur = inc
	go func() {
		defer close(inc.served)
		if s.cfg.TLS {
			_ = inc.srv.ServeTLS(inc.ln, "", "")
			return
		}
		_ = inc.srv.Serve(inc.ln)
	}()
	return nil
}

// Addr returns the host:port bound by Start ("" before).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// URL returns "http://" + Addr(), or "https://" + Addr() for a TLS server.
func (s *Server) URL() string {
	if s.cfg.TLS {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// Running reports whether the server is listening.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}

// Stop stops gracefully: no new connections, in-flight responses finish,
// stalled requests, SSE streams and WebSockets end. When ctx ends first the
// remaining connections are killed as by Crash and ctx's error is returned.
// Stop on a stopped server returns nil.
func (s *Server) Stop(ctx context.Context) error {
	inc := s.detach()
	if inc == nil {
		return nil
	}
	close(inc.stopping)
	err := inc.srv.Shutdown(ctx)
	if err == nil {
		select {
		case <-inc.gate.close():
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		inc.kill()
		return fmt.Errorf("server %s: stop: %w", s.cfg.Name, err)
	}
	inc.ln.killAll() // nothing should be left; make sure
	<-inc.served
	return nil
}

// Crash closes the listener and resets every open connection at once,
// hijacked ones included, as a killed process would. It returns when every
// handler has returned. Crash on a stopped server does nothing.
func (s *Server) Crash() {
	if inc := s.detach(); inc != nil {
		inc.kill()
	}
}

func (s *Server) detach() *incarnation {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.cur
	s.cur = nil
	return inc
}

func (inc *incarnation) kill() {
	inc.once.Do(func() {
		close(inc.killed) // before stopping, so no one mistakes a crash for a stop
		_ = inc.ln.Close()
		inc.ln.killAll()
		select {
		case <-inc.stopping:
		default:
			close(inc.stopping)
		}
		_ = inc.srv.Close()
	})
	<-inc.served
	<-inc.gate.close()
	inc.ln.killAll() // connections a handler was still setting up
}

// SetBehaviour replaces the behaviour for requests that arrive from now on.
func (s *Server) SetBehaviour(b Behaviour) {
	b = b.Clone()
	s.behaviour.Store(&b)
}

// Behaviour returns a copy of the current behaviour.
func (s *Server) Behaviour() Behaviour { return s.behaviour.Load().Clone() }

// SetHealthy sets what /healthz answers: 200 when true, 503 when false.
func (s *Server) SetHealthy(ok bool) { s.healthy.Store(ok) }

// Healthy reports what /healthz answers.
func (s *Server) Healthy() bool { return s.healthy.Load() }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// Receipts returns the most recent receipts, oldest first (at most the
// WithReceiptLimit count).
func (s *Server) Receipts() []Receipt { return s.receipts.all() }

// rngFor derives the generator of the request with arrival number seq.
func (s *Server) rngFor(seq uint64) *rand.Rand {
	return rand.New(rand.NewPCG(s.cfg.Seed, splitmix64(seq)))
}

// splitmix64 scatters consecutive numbers over the whole 64-bit range.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// counters are the live form of Stats.
type counters struct {
	received, total, inflight, stalled, reset, closed atomic.Int64

	mu       sync.Mutex
	byStatus map[int]int64
}

func (c *counters) init() { c.byStatus = map[int]int64{} }

func (c *counters) status(code int) {
	c.total.Add(1)
	c.mu.Lock()
	c.byStatus[code]++
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	by := make(map[int]int64, len(c.byStatus))
	for k, v := range c.byStatus {
		by[k] = v
	}
	c.mu.Unlock()
	return Stats{
		Received: c.received.Load(), Total: c.total.Load(), ByStatus: by,
		InFlight: c.inflight.Load(), Stalled: c.stalled.Load(), Reset: c.reset.Load(), Closed: c.closed.Load(),
	}
}

// receiptRing keeps the last limit receipts.
type receiptRing struct {
	mu    sync.Mutex
	limit int
	buf   []Receipt
	next  int
}

func (r *receiptRing) add(rc Receipt) {
	if r.limit <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) < r.limit {
		r.buf = append(r.buf, rc)
		return
	}
	r.buf[r.next] = rc
	r.next = (r.next + 1) % r.limit
}

func (r *receiptRing) all() []Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Receipt, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// errStopped answers requests that arrive while the server stops.
var errStopped = errors.New("server stopping")
