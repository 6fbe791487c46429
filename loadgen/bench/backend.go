package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/proxylab/proxylab/sim"
	"github.com/proxylab/proxylab/sim/server"
)

// backend is the fixed-response server every target ends at.
type backend struct {
	addr string // host:port
	stop func(context.Context) error
	pid  int // 0 for the in-process sim server
}

// url is the backend's base URL.
func (b *backend) url() string { return "http://" + b.addr + "/" }

// startBackend starts the sim server in this process, or nginx `return 200`
// pinned to the load core.
func (r *runner) startBackend(ctx context.Context) (*backend, error) {
	switch r.cfg.Backend {
	case BackendNginx:
		return r.startNginxBackend(ctx)
	default:
		var b server.Behaviour
		if r.cfg.Body > 0 {
			size, err := server.ParseSizeMix(strconv.FormatInt(r.cfg.Body, 10))
			if err != nil {
				return nil, fmt.Errorf("backend body %d: %w", r.cfg.Body, err)
			}
			b.Size = size
		}
		srv, err := server.New(server.Config{Name: "backend", Addr: r.cfg.BackendAddr, Behaviour: b}, server.WithReceiptLimit(0))
		if err != nil {
			return nil, fmt.Errorf("backend: %w", err)
		}
		if err := srv.Start(); err != nil {
			return nil, fmt.Errorf("backend: %w", err)
		}
		return &backend{addr: srv.Addr(), stop: srv.Stop}, nil
	}
}

func (r *runner) startNginxBackend(ctx context.Context) (*backend, error) {
	if _, err := r.o.lookPath("nginx"); err != nil {
		return nil, fmt.Errorf("backend nginx: not installed (apt-get install nginx-light): %w", err)
	}
	tmpl, err := templates.ReadFile("templates/nginx-backend.conf.tmpl")
	if err != nil {
		return nil, fmt.Errorf("backend nginx: %w", err)
	}
	host, port, err := net.SplitHostPort(r.cfg.BackendAddr)
	if err != nil {
		return nil, fmt.Errorf("backend address %q: %w", r.cfg.BackendAddr, err)
	}
	if port != "0" {
		return nil, fmt.Errorf("backend address %q: the nginx backend picks its own port; give port 0", r.cfg.BackendAddr)
	}
	conf := strings.Replace(string(tmpl), "{{body}}", strings.Repeat("x", int(r.cfg.Body)), 1)
	node := &sim.ExternalNode{
		Name: "nginx-backend", As: sim.Reverse,
		Command:    r.pin.backendArgv([]string{"nginx", "-p", "{{.Dir}}", "-e", "stderr", "-c", "{{.ConfigFile}}"}),
		Config:     conf,
		ConfigName: "nginx.conf",
		Stderr:     &bytes.Buffer{},
	}
	if err := node.Start(ctx, sim.Topology{Host: host}); err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	b := &backend{addr: node.Addr(), stop: node.Stop}
	if _, p, err := net.SplitHostPort(b.addr); err == nil {
		n, _ := strconv.Atoi(p)
		b.pid = listenerPID(n)
	}
	return b, nil
}
