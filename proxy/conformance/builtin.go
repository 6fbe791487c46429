package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim/server"
)

// Settings of the built-in proxies under the self-test: small deadlines so
// the slow cases finish in about a second, small limits so the big ones
// send little.
const (
	BuiltinHost          = "conformance.test"
	BuiltinTunnel        = "origin.test:443"
	BuiltinUser          = "probe:probe-secret"
	BuiltinClientHeader  = 300 * time.Millisecond
	BuiltinClientBody    = 600 * time.Millisecond
	BuiltinUpstreamWait  = 300 * time.Millisecond
	BuiltinBodyLimit     = 256 << 10
	BuiltinClientWrite   = 600 * time.Millisecond
	builtinShutdownLimit = 2 * time.Second
)

// Builtin is one of proxylab's own proxies served on loopback with the
// settings above, in front of an origin, ready to be probed.
type Builtin struct {
	// Config is the runner configuration that probes it.
	Config Config
	srv    *proxy.Server
	close  func() error
	done   chan error
	once   sync.Once
	err    error
}

// StartBuiltin serves the built-in proxy of mode in front of origin. A
// forward proxy asks for credentials (BuiltinUser), maps BuiltinTunnel and
// the origin's own authority to the origin, opens only the origin's IP to
// its SSRF guard and lets canary (may be nil) stand for everything else on
// loopback.
func StartBuiltin(mode Mode, origin *Origin, canary *Canary) (*Builtin, error) {
	return startBuiltin(mode, origin, canary, false)
}

// StartBuiltinTLS is StartBuiltin with the proxy served over TLS (an HTTPS
// reverse proxy with HTTP/2 by ALPN, an HTTPS forward proxy with HTTP/1.1)
// under a throwaway certificate for 127.0.0.1, which Config.TLS trusts.
func StartBuiltinTLS(mode Mode, origin *Origin, canary *Canary) (*Builtin, error) {
	return startBuiltin(mode, origin, canary, true)
}

func startBuiltin(mode Mode, origin *Origin, canary *Canary, secure bool) (*Builtin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("builtin %s: listen: %w", mode, err)
	}
	b := &Builtin{done: make(chan error, 1)}
	var serve net.Listener = ln
	switch mode {
	case Reverse:
		cfg := reverse.Config{
			Routes: []reverse.RouteConfig{{Host: BuiltinHost, Pool: "origin"}},
			Pools: []reverse.PoolConfig{{Name: "origin",
				Servers: []reverse.ServerConfig{{Name: "origin", URL: "http://" + origin.Addr()}}}},
			Timeouts: reverse.TimeoutsConfig{ResponseHeader: BuiltinUpstreamWait, ClientHeader: BuiltinClientHeader,
				ClientBody: BuiltinClientBody},
			Limits: reverse.LimitsConfig{MaxBodyBytes: BuiltinBodyLimit},
			H2C:    true,
		}
		p, err := reverse.New(cfg)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("builtin reverse: %w", err)
		}
		b.srv = proxy.NewServer(p, builtinServer(cfg.ServerConfig()))
		b.close = p.Close
		b.Config = Config{Mode: Reverse, Host: BuiltinHost, H2C: true, UpstreamHeaderTimeout: BuiltinUpstreamWait,
			ClientHeaderTimeout: BuiltinClientHeader, ClientBodyTimeout: BuiltinClientBody, BodyLimit: BuiltinBodyLimit,
			ClientWriteTimeout: BuiltinClientWrite}
	case Forward:
		ip, _, _ := net.SplitHostPort(origin.Addr())
		user, pass, _ := strings.Cut(BuiltinUser, ":")
		cfg := forward.Config{
			Auth:      []forward.Credential{{User: user, Pass: pass}},
			AllowNets: []string{ip + "/32"},
			ConnectTo: map[string]string{BuiltinTunnel: origin.Addr()},
			Timeouts: forward.Timeouts{ClientHeader: BuiltinClientHeader, ClientBody: BuiltinClientBody,
				ResponseHeader: BuiltinUpstreamWait, Dial: time.Second},
			Limits: forward.Limits{MaxBodyBytes: BuiltinBodyLimit},
			Via:    "conformance",
		}
		p, err := forward.New(cfg)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("builtin forward: %w", err)
		}
		b.srv = proxy.NewServer(p, builtinServer(p.ServerConfig()))
		b.close = p.Close
		serve = p.Listener(ln)
		b.Config = Config{Mode: Forward, TunnelAuthority: BuiltinTunnel, Canary: canary, Auth: BuiltinUser,
			UpstreamHeaderTimeout: BuiltinUpstreamWait, ClientHeaderTimeout: BuiltinClientHeader,
			ClientBodyTimeout: BuiltinClientBody, BodyLimit: BuiltinBodyLimit, ClientWriteTimeout: BuiltinClientWrite}
	default:
		ln.Close()
		return nil, fmt.Errorf("builtin: mode %q: want reverse or forward", mode)
	}
	b.Config.Proxy = ln.Addr().String()
	b.Config.Origin = origin
	if !secure {
		go func() { b.done <- b.srv.Serve(serve) }()
		return b, nil
	}
	cert, err := server.SelfSigned("proxylab-conformance", "127.0.0.1")
	var leaf *x509.Certificate
	if err == nil {
		leaf, err = x509.ParseCertificate(cert.Certificate[0])
	}
	if err != nil {
		ln.Close()
		b.close()
		return nil, fmt.Errorf("builtin %s: %w", mode, err)
	}
	b.srv.HTTPServer().TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if mode == Forward {
		b.srv.HTTPServer().TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // tunnels need HTTP/1.1
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	b.Config.TLS = &tls.Config{RootCAs: roots}
	go func() { b.done <- b.srv.ServeTLS(serve, "", "") }()
	return b, nil
}

// builtinServer gives the server of a built-in proxy the write idle
// deadline the slow-reader case probes.
func builtinServer(c proxy.ServerConfig) proxy.ServerConfig {
	c.WriteIdleTimeout = BuiltinClientWrite
	return c
}

// Server is the proxy.Server serving the proxy.
func (b *Builtin) Server() *proxy.Server { return b.srv }

// Close shuts the server down (hijacked connections included) and stops the
// proxy; it is idempotent.
func (b *Builtin) Close() error {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), builtinShutdownLimit)
		defer cancel()
		b.err = errors.Join(b.srv.Shutdown(ctx), <-b.done, b.close())
	})
	return b.err
}
