package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/admin"
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/health"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/proxy/socket"
)

// proxyChildren are the subcommands of `proxylab proxy`; each proxy adds its
// own constructor here, one line each.
var proxyChildren = []func() *cobra.Command{
	newProxyReverseCommand,
	newProxyForwardCommand,
}

func newProxyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "proxy",
		Short: "Run a built-in proxy as a standalone program",
		Long: `proxy runs one of proxylab's proxies for real clients (curl, browsers, wrk)
until SIGINT or SIGTERM, then shuts down gracefully.`,
		Example: `  # a reverse proxy in front of two servers, round robin
  proxylab proxy reverse --listen 127.0.0.1:8080 --upstream http://127.0.0.1:9001 --upstream http://127.0.0.1:9002

  # a forward proxy that asks for credentials; then: curl -x http://alice:s3cret@127.0.0.1:3128 http://example.test/
  proxylab proxy forward --listen 127.0.0.1:3128 --auth alice:s3cret`,
		Args: cobra.NoArgs,
	}
	for _, add := range proxyChildren {
		c.AddCommand(add())
	}
	return c
}

type reverseFlags struct {
	listen, admin, config, accessLog string
	tlsCert, tlsKey                  string
	upstreams                        []string
	balance, healthPath              string
	h2c, stdTransport                bool
	shutdownTimeout                  time.Duration
}

func newProxyReverseCommand() *cobra.Command {
	var f reverseFlags
	c := &cobra.Command{
		Use:   "reverse --listen ADDR --upstream URL... | --config FILE",
		Short: "Run the reverse proxy",
		Long: `reverse runs the reverse proxy. Either --upstream flags build one pool "web"
(servers server1..N, in order) behind a catch-all route, or --config FILE gives
the whole configuration (routes, pools, health, retries, breakers, limits; see
the reverse package's Config). --listen and --admin override the file.

The admin API (--admin) lists pools and servers, adds, drains and removes
servers, changes weights, swaps the configuration (PUT /config) and serves
/metrics. On SIGINT or SIGTERM the proxy stops accepting, lets requests finish
and closes WebSockets by --shutdown-timeout.`,
		Example: `  proxylab proxy reverse --listen 127.0.0.1:8080 \
      --upstream http://127.0.1.1:4000 --upstream http://127.0.1.2:4000 \
      --balance least_conn --health-path /healthz --admin 127.0.0.1:9090 --access-log -

  proxylab proxy reverse --config reverse.yaml
  curl -X POST 127.0.0.1:9090/pools/web/servers/server2/drain`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.buildConfig(cmd)
			if err != nil {
				return err
			}
			return runReverse(cmd, cfg, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on (HOST:PORT; port 0 picks one)")
	fl.StringArrayVar(&f.upstreams, "upstream", nil, "upstream server URL (http://, https:// or h2c://); repeat or comma-separate")
	fl.StringVar(&f.balance, "balance", balance.DefaultPolicy, "balancing policy: "+strings.Join(balance.Policies(), ", "))
	fl.StringVar(&f.healthPath, "health-path", "", "turn on active health checks of this path (e.g. /healthz)")
	fl.StringVar(&f.admin, "admin", "", "address of the admin API (HOST:PORT); empty means none")
	fl.StringVar(&f.config, "config", "", "YAML configuration file")
	fl.StringVar(&f.accessLog, "access-log", "", "JSON access log file, or - for stdout; empty means none")
	fl.BoolVar(&f.h2c, "h2c", false, "also serve cleartext HTTP/2 (prior knowledge) to clients")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve TLS (HTTP/2 and HTTP/1.1 by ALPN) with this PEM certificate; needs --tls-key")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
	fl.BoolVar(&f.stdTransport, "std-transport", false, "send every request through net/http's Transport instead of the fast HTTP/1.1 client")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take before connections are cut")
	return c
}

// buildConfig turns the flags (and the --config file) into a reverse.Config.
func (f reverseFlags) buildConfig(cmd *cobra.Command) (reverse.Config, error) {
	var cfg reverse.Config
	changed := cmd.Flags().Changed
	if f.config != "" {
		if len(f.upstreams) > 0 {
			return cfg, usageErrorf("--upstream and --config: give one or the other")
		}
		data, err := os.ReadFile(f.config)
		if err != nil {
			return cfg, usageErrorf("--config: %v", err)
		}
		if cfg, err = reverse.ParseConfig(data); err != nil {
			return cfg, usageErrorf("%s: %v", f.config, err)
		}
		if cfg.Listen == "" || changed("listen") {
			cfg.Listen = f.listen
		}
		if changed("admin") {
			cfg.Admin = f.admin
		}
		if changed("h2c") {
			cfg.H2C = f.h2c
		}
		return cfg, nil
	}
	var urls []string
	for _, u := range f.upstreams {
		for _, part := range strings.Split(u, ",") {
			if part = strings.TrimSpace(part); part != "" {
				if !strings.Contains(part, "://") {
					part = "http://" + part
				}
				urls = append(urls, part)
			}
		}
	}
	if len(urls) == 0 {
		return cfg, usageErrorf("no upstream: give --upstream URL (repeatable) or --config FILE")
	}
	pc := reverse.PoolConfig{Name: "web", Balance: balance.Config{Policy: f.balance}}
	for i, u := range urls {
		pc.Servers = append(pc.Servers, reverse.ServerConfig{Name: fmt.Sprintf("server%d", i+1), URL: u})
	}
	if f.healthPath != "" {
		pc.Health = &health.ActiveConfig{Path: f.healthPath}
	}
	cfg = reverse.Config{
		Listen: f.listen,
		Admin:  f.admin,
		H2C:    f.h2c,
		Routes: []reverse.RouteConfig{{Host: "", Path: "/", Pool: "web"}}, // explicit catch-all
		Pools:  []reverse.PoolConfig{pc},
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrorf("%v", err)
	}
	return cfg, nil
}

func runReverse(cmd *cobra.Command, cfg reverse.Config, f reverseFlags) error {
	out := cmd.OutOrStdout()
	var opts []reverse.Option
	if f.stdTransport {
		opts = append(opts, reverse.WithStdTransport())
	}
	switch f.accessLog {
	case "":
	case "-":
		opts = append(opts, reverse.WithAccessLog(out))
	default:
		lf, err := os.OpenFile(f.accessLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return usageErrorf("--access-log: %v", err)
		}
		defer lf.Close()
		opts = append(opts, reverse.WithAccessLog(lf))
	}
	p, err := reverse.New(cfg, opts...)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer p.Close()

	tlsCfg, err := tlsFlags(f.tlsCert, f.tlsKey, "h2", "http/1.1")
	if err != nil {
		return err
	}
	ln, err := proxy.Listen(cfg.Listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	servers := []*proxy.Server{proxy.NewServer(p, cfg.ServerConfig())}
	listeners := []net.Listener{ln}
	if tlsCfg != nil {
		// TLS goes through ServeTLS, which speaks HTTP/2 to clients that
		// negotiate it; the records are read and written with raw calls
		// (proxy/socket), as plain connections are.
		servers[0].HTTPServer().TLSConfig = tlsCfg
		listeners[0] = tlsListener{socket.Listener(ln)}
	}
	fmt.Fprintf(out, "reverse proxy listening on %s://%s\n", scheme, ln.Addr())
	if cfg.Admin != "" {
		aln, err := proxy.Listen(cfg.Admin)
		if err != nil {
			ln.Close()
			return err
		}
		servers = append(servers, proxy.NewServer(admin.NewHandler(p), proxy.ServerConfig{}))
		listeners = append(listeners, aln)
		fmt.Fprintf(out, "admin API on http://%s (GET /pools, PUT /config, GET /metrics)\n", aln.Addr())
	}
	return serveUntilSignal(cmd.Context(), out, servers, listeners, f.shutdownTimeout)
}

// tlsFlags is the TLS configuration --tls-cert and --tls-key ask for,
// offering protos by ALPN; nil without them.
func tlsFlags(certFile, keyFile string, protos ...string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, usageErrorf("--tls-cert and --tls-key go together")
	}
	if certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, usageErrorf("--tls-cert/--tls-key: %v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos, MinVersion: tls.VersionTLS12}, nil
}

// tlsListener marks a listener whose server serves TLS (Server.ServeTLS).
type tlsListener struct{ net.Listener }

// serveUntilSignal serves every server on its listener until SIGINT/SIGTERM
// or one fails, then shuts them all down within timeout.
func serveUntilSignal(ctx context.Context, out io.Writer, servers []*proxy.Server, lns []net.Listener, timeout time.Duration) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() {
			if tl, ok := lns[i].(tlsListener); ok {
				errc <- s.ServeTLS(tl.Listener, "", "") // the certificates are in its TLSConfig
				return
			}
			errc <- s.Serve(lns[i])
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "shutting down")
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	if serveErr != nil {
		errs = append(errs, serveErr)
	}
	return errors.Join(errs...)
}
