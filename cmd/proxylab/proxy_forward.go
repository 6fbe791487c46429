package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/admin"
	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/socket"
)

// The forward proxy serves the shared admin API (PUT /config, /metrics).
var _ admin.Target = (*forward.Proxy)(nil)

type forwardFlags struct {
	listen, socks, admin, config, log string
	auth, allow, deny, allowNets      []string
	connectTo                         []string
	connectPorts                      string
	parent                            string
	tlsCert, tlsKey                   string
	open                              bool
	shutdownTimeout                   time.Duration
}

func newProxyForwardCommand() *cobra.Command {
	var f forwardFlags
	c := &cobra.Command{
		Use:   "forward --listen ADDR [--auth USER:PASS] [--allow PATTERN]... | --config FILE",
		Short: "Run the forward proxy (HTTP, CONNECT, SOCKS5)",
		Long: `forward runs the forward proxy: clients that know it send absolute-form HTTP
requests ("GET http://host/path") and CONNECT tunnels to --listen, and SOCKS5
CONNECT to --socks.

It is never an open proxy by accident: without --auth, --allow or a client
allow-list in --config it refuses to start unless --open is given.

Every destination passes the same policy: --deny and --allow patterns
(example.com, *.example.com, host:port, CIDR), CONNECT ports (--connect-ports,
443 only by default) and the SSRF guard, which resolves each name once,
refuses loopback, private, link-local (cloud metadata), CGNAT, ULA and other
non-public addresses, and dials the address it checked. --allow-net opens a
range to the guard on purpose (e.g. 127.0.0.0/8 for local test servers).

--config FILE gives the whole policy in YAML (see the forward package's
Config: auth, allow, deny, clients, allow_nets, connect_ports, parent,
connect_to, limits, timeouts, via); flags given as well are added to it
(lists) or replace it (single values).

--tls-cert and --tls-key make it an HTTPS proxy: clients reach it over TLS
(curl --proxy https://HOST:PORT, Go's ProxyURL with https), so credentials and
absolute-form requests do not cross the network in the clear; CONNECT tunnels
then run inside that TLS connection (copied, since a TLS stream cannot be
spliced on the client's side).

The decision log (--log) has one JSON line per request or tunnel: allowed or
denied, the rule that decided, client, target, address dialled, bytes each
way and duration. The admin API (--admin) serves PUT /config (atomic swap)
and GET /metrics. SIGINT or SIGTERM stops accepting, lets requests finish and
closes tunnels by --shutdown-timeout.`,
		Example: `  # local testing: any local server, with a password
  proxylab proxy forward --listen 127.0.0.1:3128 --auth alice:s3cret --allow-net 127.0.0.0/8
  curl -x http://alice:s3cret@127.0.0.1:3128 http://127.0.0.1:8000/

  # only two sites, HTTPS on 443 and 8443, SOCKS5 too, decision log on stdout
  proxylab proxy forward --allow '*.example.com' --allow example.org \
      --connect-ports 443,8443 --socks 127.0.0.1:1080 --log -

  # chain through a parent proxy with its own credentials
  proxylab proxy forward --auth me:pw --parent http://up:pw@10.0.0.2:3128

  # an HTTPS proxy: the client's leg is encrypted, credentials included
  proxylab proxy forward --auth alice:s3cret --tls-cert proxy.pem --tls-key proxy-key.pem
  curl --proxy https://alice:s3cret@proxy.example:3128 https://example.com/

  proxylab proxy forward --config forward.yaml --admin 127.0.0.1:9091`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.buildConfig(cmd)
			if err != nil {
				return err
			}
			return runForward(cmd, cfg, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:3128", "address of the HTTP proxy listener (HOST:PORT; port 0 picks one)")
	fl.StringArrayVar(&f.auth, "auth", nil, "accepted Basic credentials USER:PASS; repeatable")
	fl.StringArrayVar(&f.allow, "allow", nil, "destination pattern to allow (only these are served); repeatable")
	fl.StringArrayVar(&f.deny, "deny", nil, "destination pattern to deny; repeatable")
	fl.StringArrayVar(&f.allowNets, "allow-net", nil, "CIDR the SSRF guard lets through on purpose; repeatable")
	fl.StringVar(&f.connectPorts, "connect-ports", "", "comma-separated ports CONNECT and SOCKS5 may reach (default 443)")
	fl.StringVar(&f.parent, "parent", "", "parent proxy http://[USER:PASS@]HOST:PORT for every destination")
	fl.StringArrayVar(&f.connectTo, "connect-to", nil, "dial HOST:PORT=HOST2:PORT2 instead, like curl --connect-to; repeatable")
	fl.StringVar(&f.socks, "socks", "", "address of a SOCKS5 listener (HOST:PORT); empty means none")
	fl.StringVar(&f.admin, "admin", "", "address of the admin API (HOST:PORT); empty means none")
	fl.StringVar(&f.config, "config", "", "YAML configuration file")
	fl.StringVar(&f.log, "log", "", "JSON decision log file, or - for stdout; empty means none")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve the proxy over TLS (an HTTPS proxy) with this PEM certificate; needs --tls-key")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
	fl.BoolVar(&f.open, "open", false, "serve without auth or allow-list (an open proxy, on purpose)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take before tunnels are cut")
	return c
}

// buildConfig turns the --config file and the flags into a forward.Config.
func (f forwardFlags) buildConfig(cmd *cobra.Command) (forward.Config, error) {
	var cfg forward.Config
	if f.config != "" {
		data, err := os.ReadFile(f.config)
		if err != nil {
			return cfg, usageErrorf("--config: %v", err)
		}
		var yamlCfg forward.Config
		if yamlCfg, err = parseForwardConfig(data); err != nil {
			return cfg, usageErrorf("%s: %v", f.config, err)
		}
		cfg = yamlCfg
	}
	for _, a := range f.auth {
		user, pass, ok := strings.Cut(a, ":")
		if !ok || user == "" {
			return cfg, usageErrorf("--auth %q: want USER:PASS", a)
		}
		cfg.Auth = append(cfg.Auth, forward.Credential{User: user, Pass: pass})
	}
	cfg.Allow = append(cfg.Allow, f.allow...)
	cfg.Deny = append(cfg.Deny, f.deny...)
	cfg.AllowNets = append(cfg.AllowNets, f.allowNets...)
	if cmd.Flags().Changed("open") {
		cfg.Open = f.open
	}
	if f.connectPorts != "" {
		cfg.ConnectPorts = nil
		for _, s := range strings.Split(f.connectPorts, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
			if err != nil || n == 0 {
				return cfg, usageErrorf("--connect-ports %q: want ports 1-65535 separated by commas, e.g. 443,8443", f.connectPorts)
			}
			cfg.ConnectPorts = append(cfg.ConnectPorts, uint16(n))
		}
	}
	if f.parent != "" {
		u, err := url.Parse(f.parent)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return cfg, usageErrorf("--parent %q: want http://[USER:PASS@]HOST:PORT", f.parent)
		}
		par := forward.Parent{URL: "http://" + u.Host}
		if u.User != nil {
			par.User = u.User.Username()
			par.Pass, _ = u.User.Password()
		}
		cfg.Parent = []forward.Parent{par}
	}
	for _, ct := range f.connectTo {
		from, to, ok := strings.Cut(ct, "=")
		if !ok {
			return cfg, usageErrorf("--connect-to %q: want HOST:PORT=HOST2:PORT2", ct)
		}
		if cfg.ConnectTo == nil {
			cfg.ConnectTo = map[string]string{}
		}
		cfg.ConnectTo[from] = to
	}
	if err := cfg.Validate(); err != nil {
		if errors.Is(err, forward.ErrOpenProxy) {
			return cfg, usageErrorf("%v\n(give --auth USER:PASS or --allow PATTERN, or --open to run an open proxy on purpose)", err)
		}
		return cfg, usageErrorf("%v", err)
	}
	return cfg, nil
}

// parseForwardConfig decodes the YAML strictly but leaves the checks
// (the open-proxy rule among them) for after the flags are merged in.
func parseForwardConfig(data []byte) (forward.Config, error) {
	var cfg forward.Config
	if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
		return cfg, errors.New(yaml.FormatError(err, false, true))
	}
	return cfg, nil
}

func runForward(cmd *cobra.Command, cfg forward.Config, f forwardFlags) error {
	out := cmd.OutOrStdout()
	tlsCfg, err := tlsFlags(f.tlsCert, f.tlsKey, "http/1.1") // CONNECT needs HTTP/1.1: a tunnel is a hijacked connection
	if err != nil {
		return err
	}
	var opts []forward.Option
	switch f.log {
	case "":
	case "-":
		opts = append(opts, forward.WithDecisionLog(out))
	default:
		lf, err := os.OpenFile(f.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return usageErrorf("--log: %v", err)
		}
		defer lf.Close()
		opts = append(opts, forward.WithDecisionLog(lf))
	}
	p, err := forward.New(cfg, opts...)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer p.Close()

	ln, err := proxy.Listen(f.listen)
	if err != nil {
		return err
	}
	servers := []*proxy.Server{proxy.NewServer(p, p.ServerConfig())}
	listeners := []net.Listener{p.Listener(ln)}
	scheme := "http"
	if tlsCfg != nil {
		servers[0].HTTPServer().TLSConfig = tlsCfg
		servers[0].HTTPServer().TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // no h2
		listeners[0] = tlsListener{p.Listener(socket.Listener(ln))}
		scheme = "https"
	}
	fmt.Fprintf(out, "forward proxy listening on %s://%s\n", scheme, ln.Addr())
	if f.admin != "" {
		aln, err := proxy.Listen(f.admin)
		if err != nil {
			ln.Close()
			return err
		}
		servers = append(servers, proxy.NewServer(admin.NewHandler(p), proxy.ServerConfig{}))
		listeners = append(listeners, aln)
		fmt.Fprintf(out, "admin API on http://%s (PUT /config, GET /metrics)\n", aln.Addr())
	}
	socksDone := make(chan error, 1)
	socksDone <- nil
	if f.socks != "" {
		sln, err := proxy.Listen(f.socks)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return err
		}
		<-socksDone
		go func() { socksDone <- p.ServeSOCKS(sln) }()
		fmt.Fprintf(out, "socks5 listening on %s\n", sln.Addr())
	}
	err = serveUntilSignal(cmd.Context(), out, servers, listeners, f.shutdownTimeout)
	_ = p.Close() // ends SOCKS5 and any tunnel the shutdown left
	return errors.Join(err, <-socksDone)
}
