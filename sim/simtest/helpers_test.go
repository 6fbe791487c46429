package simtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/proxylab/proxylab/sim"
)

// duplicatingProxy is a deliberately broken reverse proxy: it sends every
// request to each of the world's servers in turn and answers with the last
// response, so every request, POST included, is served more than once. It
// shows how a team plugs its own proxy into a world (any sim.Proxy).
type duplicatingProxy struct {
	mu   sync.Mutex
	srv  *http.Server
	addr string
	done chan struct{}
}

var _ sim.Proxy = (*duplicatingProxy)(nil)

func (p *duplicatingProxy) Mode() sim.Mode { return sim.Reverse }

func (p *duplicatingProxy) Start(_ context.Context, topo sim.Topology) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(topo.Host, "0"))
	if err != nil {
		return err
	}
	tr := &http.Transport{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var last *http.Response
		for _, u := range topo.Servers {
			out, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+u.Addr+r.URL.RequestURI(), bytes.NewReader(body))
			out.Header = r.Header.Clone()
			resp, err := tr.RoundTrip(out)
			if err != nil {
				continue
			}
			if last != nil {
				_ = last.Body.Close()
			}
			last = resp
		}
		if last == nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer last.Body.Close()
		for k, v := range last.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(last.StatusCode)
		_, _ = io.Copy(w, last.Body)
	})
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
		tr.CloseIdleConnections()
	}()
	p.mu.Lock()
	p.srv, p.addr, p.done = srv, ln.Addr().String(), done
	p.mu.Unlock()
	return nil
}

func (p *duplicatingProxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

func (p *duplicatingProxy) Stop(ctx context.Context) error {
	p.mu.Lock()
	srv, done := p.srv, p.done
	p.srv = nil
	p.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
