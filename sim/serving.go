package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/proxylab/proxylab/proxy"
)

// serving is a built-in proxy served on a loopback listener: what the
// reverse and forward nodes share.
type serving struct {
	mu     sync.Mutex
	srv    *proxy.Server
	done   chan error
	addr   string
	closer io.Closer
}

// start listens on host:0 and serves h; wrap (optional) wraps the listener,
// closer is closed after the server stops.
func (s *serving) start(h http.Handler, closer io.Closer, cfg proxy.ServerConfig, host string, wrap func(net.Listener) net.Listener) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		_ = closer.Close()
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	srv := proxy.NewServer(h, cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.mu.Lock()
	s.srv, s.done, s.addr, s.closer = srv, done, addr, closer
	s.mu.Unlock()
	return nil
}

// Addr returns the address clients connect to ("" before start).
func (s *serving) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// stop shuts the server down gracefully, then closes the proxy; idempotent.
func (s *serving) stop(ctx context.Context) error {
	s.mu.Lock()
	srv, done, closer := s.srv, s.done, s.closer
	s.srv, s.done, s.closer = nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if serr := <-done; serr != nil && !errors.Is(serr, errServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, closer.Close())
}
