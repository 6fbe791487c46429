package server

import (
	"io"
	"net/http"
	"time"
)

// Fixed paths served outside the knobs (except /echo, which obeys them).
const (
	PathEcho    = "/echo"
	PathHealthz = "/healthz"
	PathWS      = "/ws"
	PathSSE     = "/sse"
)

// routes builds the handler of one incarnation.
func (s *Server) routes(inc *incarnation) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathHealthz, s.serveHealthz)
	mux.HandleFunc(PathWS, func(w http.ResponseWriter, r *http.Request) { s.serveWS(inc, w, r) })
	mux.HandleFunc(PathSSE, func(w http.ResponseWriter, r *http.Request) { s.serveSSE(inc, w, r) })
	mux.HandleFunc(PathEcho, func(w http.ResponseWriter, r *http.Request) { s.serveBehaviour(inc, w, r, true) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.serveBehaviour(inc, w, r, false) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.receive(r)
		w.Header().Set(ServerHeader, s.cfg.Name)
		mux.ServeHTTP(w, r)
	})
}

// gated admits requests while the incarnation runs and counts them, so a stop
// can wait for every handler. Wrapped around the h2c handler, it also counts
// each h2c connection, whose streams are served inside it.
func gated(inc *incarnation, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !inc.gate.enter() {
			w.Header().Set("Connection", "close")
			http.Error(w, errStopped.Error(), http.StatusServiceUnavailable)
			return
		}
		defer inc.gate.leave()
		h.ServeHTTP(w, r)
	})
}

// receive records the request's arrival.
func (s *Server) receive(r *http.Request) {
	s.stats.received.Add(1)
	rc := Receipt{
		Server:    s.cfg.Name,
		ID:        r.Header.Get(IDHeader),
		At:        time.Now(),
		Method:    r.Method,
		Target:    r.RequestURI,
		Proto:     r.Proto,
		Host:      r.Host,
		Header:    r.Header.Clone(),
		Peer:      r.RemoteAddr,
		BodyBytes: r.ContentLength,
	}
	s.receipts.add(rc)
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(rc)
	}
}

func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.healthy.Load() {
		s.stats.status(http.StatusServiceUnavailable)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "unhealthy\n")
		return
	}
	s.stats.status(http.StatusOK)
	_, _ = io.WriteString(w, "ok\n")
}
