package bench

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/reverse"
)

// childMode reports whether this test binary was started by Run as a
// built-in proxy child ("proxy reverse|forward …" after the test flags).
// The suite passes its own executable as Config.Proxylab, so it needs no
// proxylab build: this stands in for `proxylab proxy …` with the same
// arguments and the same "listening on" line.
func childMode() bool {
	args := flag.Args()
	return len(args) >= 2 && (args[0] == "proxy" || args[0] == "bench" && args[1] == "sink")
}

// runChildProxy serves the built-in proxy named by the arguments until
// SIGTERM and returns the exit code.
func runChildProxy() int {
	args := flag.Args()
	if args[0] == "bench" {
		return runChildSink(args[2:])
	}
	kind := args[1]
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "")
	upstream := fs.String("upstream", "", "")
	open := fs.Bool("open", false, "")
	allowNet := fs.String("allow-net", "", "")
	connectPorts := fs.String("connect-ports", "", "")
	_ = fs.Duration("shutdown-timeout", time.Second, "")
	if err := fs.Parse(args[2:]); err != nil {
		return 2
	}
	ln, err := proxy.Listen(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var srv *proxy.Server
	var closer func() error
	switch kind {
	case Reverse:
		cfg := reverse.Config{
			Routes: []reverse.RouteConfig{{Path: "/", Pool: "web"}},
			Pools:  []reverse.PoolConfig{{Name: "web", Servers: []reverse.ServerConfig{{Name: "server1", URL: *upstream}}}},
		}
		p, err := reverse.New(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		srv, closer = proxy.NewServer(p, cfg.ServerConfig()), p.Close
	case Forward:
		cfg := forward.Config{Open: *open}
		if *allowNet != "" {
			cfg.AllowNets = []string{*allowNet}
		}
		for _, s := range strings.Split(*connectPorts, ",") {
			if n, err := strconv.ParseUint(s, 10, 16); err == nil {
				cfg.ConnectPorts = append(cfg.ConnectPorts, uint16(n))
			}
		}
		p, err := forward.New(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		srv, closer = proxy.NewServer(p, proxy.ServerConfig{}), p.Close
		ln = p.Listener(ln)
	default:
		fmt.Fprintf(os.Stderr, "unknown proxy %q\n", kind)
		return 2
	}
	fmt.Printf("%s proxy listening on http://%s\n", kind, ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintln(os.Stderr, err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = closer()
	return 0
}

// runChildSink stands in for `proxylab bench sink --listen ADDR`.
func runChildSink(args []string) int {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("sink listening on http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := ServeSink(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
