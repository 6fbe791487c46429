package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/proxy/conformance"
)

type conformanceFlags struct {
	reverse, forward string
	self, h2c        bool
	tls, insecure    bool
	caCert           string
	origin, host     string
	originAuthority  string
	tunnel, auth     string
	canary           string
	cases            []string
	headerLimit      int
	bodyLimit        int64
	upstreamTimeout  time.Duration
	clientHeader     time.Duration
	clientBody       time.Duration
	timeout          time.Duration
	closeWait        time.Duration
}

func newConformanceCommand() *cobra.Command {
	f := &conformanceFlags{}
	c := &cobra.Command{
		Use:   "conformance --reverse URL | --forward URL | --self",
		Short: "Probe a running proxy with the security catalogue (smuggling, SSRF, limits, faults)",
		Long: `Probe a proxy with the security catalogue of docs/SECURITY.md: raw requests no
well-behaved client sends (CL+TE smuggling, obs-fold, bad chunks, oversize
headers, loopback spellings, bad CONNECT targets), an origin that misbehaves
(CL+TE responses, bodies cut short, 417), and slow clients. Each case is
judged on the status, on whether the proxy closed the connection, and on what
reached the recording origin (nothing smuggled, nothing half-forwarded).

The recording origin listens on --origin; the proxy under test must send to it:
a reverse proxy routes --host there, a forward proxy must allow it. Only
loopback addresses are ever asked for. Cases that need something not given
(credentials, timeouts, limits) are reported n/a with the flag that turns them
on. --self runs the catalogue against proxylab's own two proxies (over TLS
with --tls).

An https:// URL probes an HTTPS proxy: every connection is TLS, HTTP/1.1 by
ALPN (h2 for the HTTP/2 cases with --h2c). The proxy's certificate is checked
against the system roots, or --cacert; --insecure skips the check.

Exit status: 0 when no case fails, 1 when one does, 2 for a bad flag.`,
		Example: `  # proxylab's own proxies, in-process
  proxylab conformance --self

  # a reverse proxy whose upstream is 127.0.9.1:9009
  proxylab conformance --reverse http://127.0.0.1:8080 --origin 127.0.9.1:9009 --host app.test

  # a forward proxy with credentials that allows 127.0.9.1 and CONNECT to 443
  proxylab conformance --forward http://127.0.0.1:3128 --auth alice:s3cret --origin 127.0.9.1:0

  # an HTTPS reverse proxy with a self-signed certificate, HTTP/2 included
  proxylab conformance --reverse https://127.0.0.1:8443 --insecure --h2c --origin 127.0.9.1:9009`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runConformance(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.reverse, "reverse", "", "URL of a reverse proxy to probe")
	fl.StringVar(&f.forward, "forward", "", "URL of a forward proxy to probe")
	fl.BoolVar(&f.self, "self", false, "probe proxylab's built-in reverse and forward proxies")
	fl.BoolVar(&f.tls, "tls", false, "with --self: serve the built-in proxies over TLS")
	fl.BoolVar(&f.insecure, "insecure", false, "with an https:// proxy: do not check its certificate")
	fl.StringVar(&f.caCert, "cacert", "", "with an https:// proxy: PEM file of the CA (or certificate) to check it against")
	fl.StringVar(&f.origin, "origin", "127.0.9.1:0", "listen address of the recording origin")
	fl.StringVar(&f.host, "host", "", "Host a reverse proxy routes to the origin (default: the proxy's host:port)")
	fl.StringVar(&f.originAuthority, "origin-authority", "", "host:port a forward proxy is asked for to reach the origin (default: --origin)")
	fl.StringVar(&f.tunnel, "tunnel", "", "CONNECT target the forward proxy allows and that leads to the origin (turns on the tunnel cases)")
	fl.StringVar(&f.auth, "auth", "", "user:pass the forward proxy requires (turns on the 407 case)")
	fl.StringVar(&f.canary, "canary", "127.0.0.1:0", "loopback address of the canary a forward proxy must never dial; \"off\" for none")
	fl.BoolVar(&f.h2c, "h2c", false, "the proxy also serves HTTP/2: prior knowledge, or h2 by ALPN for https:// (turns on the HTTP/2 cases)")
	fl.StringSliceVar(&f.cases, "case", nil, "run only these case ids (e.g. 1,6b,28)")
	fl.IntVar(&f.headerLimit, "header-limit", 0, "request header bytes the proxy refuses beyond (default 64 KiB)")
	fl.Int64Var(&f.bodyLimit, "body-limit", 0, "request body bytes the proxy refuses beyond (turns on the body-limit cases)")
	fl.DurationVar(&f.upstreamTimeout, "upstream-timeout", 0, "the proxy's upstream response-header timeout (turns on the 504 case)")
	fl.DurationVar(&f.clientHeader, "client-header-timeout", 0, "the proxy's client header deadline (with --client-body-timeout, turns on the slow-client cases)")
	fl.DurationVar(&f.clientBody, "client-body-timeout", 0, "the proxy's client body deadline")
	fl.DurationVar(&f.timeout, "timeout", 0, "wait for each response (default 5s)")
	fl.DurationVar(&f.closeWait, "close-wait", 0, "wait after a response to see whether the proxy closes (default 500ms)")
	return c
}

func runConformance(c *cobra.Command, f *conformanceFlags) error {
	given := 0
	for _, on := range []bool{f.reverse != "", f.forward != "", f.self} {
		if on {
			given++
		}
	}
	if given != 1 {
		return usageErrorf("give exactly one of --reverse URL, --forward URL or --self")
	}
	if f.tls && !f.self {
		return usageErrorf("--tls goes with --self; give an https:// URL to probe an HTTPS proxy")
	}
	cases, err := pickCases(f.cases)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	failed := false
	if f.self {
		for _, m := range []conformance.Mode{conformance.Reverse, conformance.Forward} {
			bad, err := conformanceSelf(c, m, f, cases)
			if err != nil {
				return err
			}
			failed = failed || bad
			fmt.Fprintln(out)
		}
	} else {
		bad, err := conformanceExternal(c, f, cases)
		if err != nil {
			return err
		}
		failed = bad
	}
	if failed {
		return &exitError{code: exitVerdict}
	}
	return nil
}

func pickCases(ids []string) ([]*conformance.Case, error) {
	all := conformance.Catalogue()
	if len(ids) == 0 {
		return all, nil
	}
	var out []*conformance.Case
	for _, id := range ids {
		c := conformance.Find(all, strings.TrimSpace(id))
		if c == nil {
			return nil, usageErrorf("--case %q: no such case; ids are 0..39 with variants such as 3b, 28c", id)
		}
		out = append(out, c)
	}
	return out, nil
}

func conformanceSelf(c *cobra.Command, m conformance.Mode, f *conformanceFlags, cases []*conformance.Case) (bool, error) {
	origin, err := conformance.NewOrigin(f.origin)
	if err != nil {
		return false, usageErrorf("%v", err)
	}
	defer origin.Close()
	canary, err := conformance.NewCanary("127.0.0.1:0")
	if err != nil {
		return false, err
	}
	defer canary.Close()
	start := conformance.StartBuiltin
	if f.tls {
		start = conformance.StartBuiltinTLS
	}
	b, err := start(m, origin, canary)
	if err != nil {
		return false, err
	}
	defer b.Close()
	cfg := b.Config
	applyTiming(&cfg, f)
	fmt.Fprintf(c.OutOrStdout(), "built-in %s proxy at %s, origin at %s\n\n", m, cfg.Proxy, origin.Addr())
	return runCatalogue(c, cfg, cases)
}

func conformanceExternal(c *cobra.Command, f *conformanceFlags, cases []*conformance.Case) (bool, error) {
	mode, raw := conformance.Reverse, f.reverse
	if f.forward != "" {
		mode, raw = conformance.Forward, f.forward
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" {
		return false, usageErrorf("--%s %q: want http://host:port or https://host:port", mode, raw)
	}
	tlsCfg, err := f.clientTLS(u.Scheme == "https")
	if err != nil {
		return false, err
	}
	origin, err := conformance.NewOrigin(f.origin)
	if err != nil {
		return false, usageErrorf("%v", err)
	}
	defer origin.Close()
	cfg := conformance.Config{
		Mode: mode, Proxy: u.Host, Origin: origin, Host: f.host, OriginAuthority: f.originAuthority,
		TunnelAuthority: f.tunnel, Auth: f.auth, HeaderLimit: f.headerLimit, BodyLimit: f.bodyLimit, H2C: f.h2c,
		UpstreamHeaderTimeout: f.upstreamTimeout, ClientHeaderTimeout: f.clientHeader, ClientBodyTimeout: f.clientBody,
		TLS: tlsCfg,
	}
	if mode == conformance.Forward && f.canary != "off" {
		canary, err := conformance.NewCanary(f.canary)
		if err != nil {
			return false, usageErrorf("--canary: %v", err)
		}
		defer canary.Close()
		cfg.Canary = canary
	}
	applyTiming(&cfg, f)
	fmt.Fprintf(c.OutOrStdout(), "%s proxy at %s, origin at %s\n\n", mode, u.Host, origin.Addr())
	return runCatalogue(c, cfg, cases)
}

// clientTLS is the TLS configuration that probes an https:// proxy; nil for
// http://, where --insecure and --cacert make no sense.
func (f *conformanceFlags) clientTLS(https bool) (*tls.Config, error) {
	if !https {
		if f.insecure || f.caCert != "" {
			return nil, usageErrorf("--insecure and --cacert go with an https:// proxy URL")
		}
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: f.insecure}
	if f.caCert != "" {
		pem, err := os.ReadFile(f.caCert)
		if err != nil {
			return nil, usageErrorf("--cacert: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("--cacert %s: no PEM certificate in it", f.caCert)
		}
	}
	return cfg, nil
}

func applyTiming(cfg *conformance.Config, f *conformanceFlags) {
	if f.timeout > 0 {
		cfg.Timeout = f.timeout
	}
	if f.closeWait > 0 {
		cfg.CloseWait = f.closeWait
	}
}

// runCatalogue runs the cases and prints the table; true means a case failed.
func runCatalogue(c *cobra.Command, cfg conformance.Config, cases []*conformance.Case) (bool, error) {
	r, err := conformance.NewRunner(cfg)
	if err != nil {
		return false, usageErrorf("%v", err)
	}
	results := r.RunAll(c.Context(), cases)
	if err := conformance.WriteTable(c.OutOrStdout(), results); err != nil {
		return false, err
	}
	t := conformance.TallyOf(results)
	return t.Fail+t.Broken > 0, nil
}
