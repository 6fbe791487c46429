package conformance

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Defaults applied by Config for zero fields.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultCloseWait   = 500 * time.Millisecond
	DefaultSettle      = 100 * time.Millisecond
	DefaultHeaderLimit = 64 << 10
)

// Config describes the proxy under test and how the runner reaches the
// origin through it. Zero fields either mean a default (said on the field)
// or turn off the cases that need them, which then report not applicable.
type Config struct {
	// Mode is the kind of proxy. Required.
	Mode Mode
	// Proxy is the proxy's host:port. Required.
	Proxy string
	// Origin records what reaches it. Required: the proxy must send Host
	// (reverse) or OriginAuthority (forward) there.
	Origin *Origin
	// Host is the Host header a reverse proxy routes to the origin. Empty
	// means Proxy.
	Host string
	// OriginAuthority is the host:port a forward proxy is asked for to reach
	// the origin. Empty means the origin's own address.
	OriginAuthority string
	// TunnelAuthority is a CONNECT target the forward proxy must allow and
	// that leads to the origin. Empty turns the tunnel cases off.
	TunnelAuthority string
	// Canary is a loopback listener a forward proxy must never dial; the
	// SSRF cases ask for loopback spellings of its port. Nil turns them off.
	Canary *Canary
	// Auth is "user:pass" when the forward proxy requires credentials; they
	// are sent with every request except the one checking the 407. Empty
	// means none are sent and the 407 case is off.
	Auth string
	// HeaderLimit is the request header size the proxy refuses beyond.
	// Zero means DefaultHeaderLimit (64 KiB).
	HeaderLimit int
	// BodyLimit is the request body size the proxy refuses beyond. Zero
	// turns the body-limit cases off.
	BodyLimit int64
	// UpstreamHeaderTimeout is how long the proxy waits for the origin's
	// response header. Zero turns the upstream-timeout case off.
	UpstreamHeaderTimeout time.Duration
	// ClientHeaderTimeout and ClientBodyTimeout are the proxy's deadlines
	// for reading a client's headers and whole request. Zero in either
	// turns the slow-client cases off.
	ClientHeaderTimeout, ClientBodyTimeout time.Duration
	// ClientWriteTimeout is how long the proxy lets a response write make no
	// progress before it closes the connection. Zero turns the slow-reader
	// case off.
	ClientWriteTimeout time.Duration
	// H2C says the proxy also serves HTTP/2 on Proxy: cleartext with prior
	// knowledge, or negotiated by ALPN when TLS is set. False turns the
	// HTTP/2 cases off.
	H2C bool
	// TLS, when set, makes every connection to the proxy a TLS client
	// connection with it (an HTTPS reverse or forward proxy); its ServerName
	// defaults to Proxy's host.
	TLS *tls.Config
	// Timeout bounds the wait for a response. Zero means DefaultTimeout.
	Timeout time.Duration
	// CloseWait is how long the runner waits after the last response to see
	// whether the proxy closes the connection. Zero means DefaultCloseWait.
	CloseWait time.Duration
	// Settle is how long the runner waits before asking the origin what it
	// received. Zero means DefaultSettle.
	Settle time.Duration
}

// withDefaults applies the defaults in one place and checks what is required.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Mode != Reverse && c.Mode != Forward {
		errs = append(errs, fmt.Errorf("mode %q: want reverse or forward", c.Mode))
	}
	if _, _, err := net.SplitHostPort(c.Proxy); err != nil {
		errs = append(errs, fmt.Errorf("proxy address %q: want host:port: %w", c.Proxy, err))
	}
	if c.Origin == nil {
		errs = append(errs, errors.New("no origin: the runner needs one to see what reaches it"))
	}
	if c.Auth != "" && !strings.Contains(c.Auth, ":") {
		errs = append(errs, fmt.Errorf("auth %q: want user:pass", c.Auth))
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if c.Host == "" {
		c.Host = c.Proxy
	}
	if c.OriginAuthority == "" {
		c.OriginAuthority = c.Origin.Addr()
	}
	if c.HeaderLimit == 0 {
		c.HeaderLimit = DefaultHeaderLimit
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.CloseWait == 0 {
		c.CloseWait = DefaultCloseWait
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	return c, nil
}

// has reports whether the config provides what a case needs.
func (c Config) has(n Need) bool {
	switch n {
	case NeedAuth:
		return c.Auth != ""
	case NeedCanary:
		return c.Canary != nil
	case NeedTunnel:
		return c.TunnelAuthority != ""
	case NeedHeaderTimeout:
		return c.UpstreamHeaderTimeout > 0
	case NeedClientTimeouts:
		return c.ClientHeaderTimeout > 0 && c.ClientBodyTimeout > 0
	case NeedBodyLimit:
		return c.BodyLimit > 0
	case NeedH2C:
		return c.H2C
	case NeedWriteTimeout:
		return c.ClientWriteTimeout > 0
	}
	return false
}

// Runner probes one proxy with catalogue cases, one after another.
type Runner struct {
	cfg Config
}

// NewRunner checks cfg and applies its defaults.
func NewRunner(cfg Config) (*Runner, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	return &Runner{cfg: c}, nil
}

// Config returns the configuration in use, defaults applied.
func (r *Runner) Config() Config { return r.cfg }

// RunAll runs the baseline, then every case in order. When the baseline
// fails, what the other cases would say about the origin means nothing, so
// they are reported broken with the baseline's problems.
func (r *Runner) RunAll(ctx context.Context, cases []*Case) []*Result {
	base := r.Run(ctx, Baseline())
	out := []*Result{base}
	for _, c := range cases {
		if c.ID == Baseline().ID {
			continue
		}
		if ctx.Err() != nil {
			out = append(out, &Result{Case: c, Mode: r.cfg.Mode, Verdict: Broken, Problems: []string{ctx.Err().Error()}})
			continue
		}
		if base.Verdict != Pass {
			if ok, why := c.AppliesTo(r.cfg.Mode); !ok {
				out = append(out, &Result{Case: c, Mode: r.cfg.Mode, Verdict: NotApplicable, Problems: []string{why}})
				continue
			}
			out = append(out, &Result{Case: c, Mode: r.cfg.Mode, Verdict: Broken,
				Problems: append([]string{"the baseline request failed"}, base.Problems...)})
			continue
		}
		out = append(out, r.Run(ctx, c))
	}
	return out
}

// Run probes one case and judges it.
func (r *Runner) Run(ctx context.Context, c *Case) *Result {
	res := &Result{Case: c, Mode: r.cfg.Mode}
	if ok, why := c.AppliesTo(r.cfg.Mode); !ok {
		res.Verdict, res.Problems = NotApplicable, []string{why}
		return res
	}
	for _, n := range c.Needs {
		if !r.cfg.has(n) {
			res.Verdict, res.Problems = NotApplicable, []string{"the runner was not given " + string(n)}
			return res
		}
	}
	s := &Session{cfg: r.cfg, c: c}
	// A case may run more than once against one origin: count only what
	// arrives during this run.
	before := len(r.cfg.Origin.Received(c.ID))
	dials := 0
	if r.cfg.Canary != nil {
		dials = r.cfg.Canary.Dials()
	}
	start := time.Now()
	var (
		obs *Observation
		err error
	)
	if c.Probe != nil {
		obs, err = c.Probe(ctx, s)
	} else {
		obs, err = s.Exchange(ctx, s.Fill(c.Request))
	}
	if err != nil {
		res.Verdict, res.Problems = Broken, []string{err.Error()}
		return res
	}
	select {
	case <-time.After(r.cfg.Settle):
	case <-ctx.Done():
	}
	obs.Elapsed = time.Since(start)
	obs.Received = r.cfg.Origin.Received(c.ID)[before:]
	if r.cfg.Canary != nil {
		obs.Dials = r.cfg.Canary.Dials() - dials
	}
	res.Obs = obs
	res.Problems = judge(c.Expect, obs)
	res.Verdict = Pass
	if len(res.Problems) > 0 {
		res.Verdict = Fail
	}
	return res
}

// judge returns every expectation obs breaks.
func judge(e Expect, obs *Observation) []string {
	var out []string
	if len(e.Status) > 0 && !slices.Contains(e.Status, obs.Status()) {
		out = append(out, fmt.Sprintf("status %s, want %s", statusText(obs.Status()), statusList(e.Status)))
	}
	if e.Close && !obs.Closed {
		out = append(out, "connection left open, want it closed")
	}
	if n := len(obs.Received); !e.Forwarded.ok(n) {
		out = append(out, fmt.Sprintf("%d request(s) reached the origin, want %s", n, e.Forwarded))
	}
	if e.Whole {
		for _, rc := range obs.Received {
			if !rc.Complete {
				out = append(out, fmt.Sprintf("half-forwarded: %s %s reached the origin with %d body bytes, then %s",
					rc.Method, rc.Target, rc.BodyLen, rc.BodyErr))
			}
		}
	}
	if e.NoDial && obs.Dials > 0 {
		out = append(out, fmt.Sprintf("the proxy dialled the canary %d time(s)", obs.Dials))
	}
	if e.Check != nil {
		out = append(out, e.Check(obs)...)
	}
	return out
}

func statusText(s int) string {
	if s == 0 {
		return "none (closed)"
	}
	return fmt.Sprint(s)
}

func statusList(l []int) string {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = statusText(s)
	}
	return strings.Join(parts, " or ")
}

// Session is what a case's Probe uses to talk to the proxy under test.
type Session struct {
	cfg Config
	c   *Case
}

// Config is the runner's configuration, defaults applied.
func (s *Session) Config() Config { return s.cfg }

// Path is the case's own path, /c/<id>.
func (s *Session) Path() string { return "/c/" + s.c.ID }

// Fill replaces the placeholders of a request template (see Case.Request).
func (s *Session) Fill(tmpl string) string {
	path := s.Path()
	abs := "http://" + s.cfg.Host + path
	target := path
	host := s.cfg.Host
	if s.cfg.Mode == Forward {
		abs = "http://" + s.cfg.OriginAuthority + path
		target = abs
		host = s.cfg.OriginAuthority
	}
	anyAuth := s.AuthLine()
	if anyAuth == "" {
		anyAuth = "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
	}
	originIP, _, _ := net.SplitHostPort(s.cfg.Origin.Addr())
	cport := "0"
	if s.cfg.Canary != nil {
		cport = s.cfg.Canary.Port()
	}
	return strings.NewReplacer(
		"{target}", target, "{abs}", abs, "{path}", path, "{host}", host, "{auth}", s.AuthLine(),
		"{anyauth}", anyAuth, "{origin}", s.cfg.OriginAuthority, "{tunnel}", s.cfg.TunnelAuthority,
		"{originip}", originIP, "{cport}", cport,
	).Replace(tmpl)
}

// AuthLine is the Proxy-Authorization header line (with its CRLF) for the
// configured credentials, or "".
func (s *Session) AuthLine() string {
	if s.cfg.Auth == "" {
		return ""
	}
	return "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(s.cfg.Auth)) + "\r\n"
}

// Dial opens a fresh connection to the proxy (HTTP/1.1 by ALPN under TLS).
func (s *Session) Dial(ctx context.Context) (net.Conn, error) {
	return s.dial(ctx, net.Dialer{Timeout: s.cfg.Timeout}, "http/1.1")
}

// dial opens a connection to the proxy with d; under TLS it completes the
// handshake offering proto and fails unless the proxy agrees to h2 when
// proto is h2.
func (s *Session) dial(ctx context.Context, d net.Dialer, proto string) (net.Conn, error) {
	c, err := d.DialContext(ctx, "tcp", s.cfg.Proxy)
	if err != nil {
		return nil, fmt.Errorf("dial proxy %s: %w", s.cfg.Proxy, err)
	}
	if s.cfg.TLS == nil {
		return c, nil
	}
	cfg := s.cfg.TLS.Clone()
	cfg.NextProtos = []string{proto}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(s.cfg.Proxy)
	}
	tc := tls.Client(c, cfg)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake with proxy %s: %w", s.cfg.Proxy, err)
	}
	if proto == "h2" && tc.ConnectionState().NegotiatedProtocol != "h2" {
		tc.Close()
		return nil, fmt.Errorf("proxy %s did not negotiate h2 by ALPN", s.cfg.Proxy)
	}
	return tc, nil
}

// Exchange writes raw on a fresh connection and reads what comes back.
func (s *Session) Exchange(ctx context.Context, raw string) (*Observation, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	// A proxy may answer and close before reading everything (431, 413):
	// a failed write is part of what is observed, not an error.
	c.SetWriteDeadline(time.Now().Add(s.cfg.Timeout))
	c.Write([]byte(raw))
	return s.Read(c, methodOf(raw), s.cfg.Timeout), nil
}

func methodOf(raw string) string {
	m, _, _ := strings.Cut(raw, " ")
	return m
}
