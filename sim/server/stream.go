package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// SSE defaults, overridden by ?events=N&every=D.
const (
	DefaultSSEEvents = 10
	DefaultSSEEvery  = 100 * time.Millisecond
)

// serveSSE sends N events, one every D, then ends the stream; it also ends
// when the client goes away or the server stops.
func (s *Server) serveSSE(inc *incarnation, w http.ResponseWriter, r *http.Request) {
	events, every := DefaultSSEEvents, DefaultSSEEvery
	q := r.URL.Query()
	if v := q.Get("events"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.stats.status(http.StatusBadRequest)
			http.Error(w, fmt.Sprintf("events %q is not a count; want a whole number like 10", v), http.StatusBadRequest)
			return
		}
		events = n
	}
	if v := q.Get("every"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			s.stats.status(http.StatusBadRequest)
			http.Error(w, fmt.Sprintf("every: %v; want a duration like 100ms", err), http.StatusBadRequest)
			return
		}
		every = d
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	s.stats.status(http.StatusOK)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	id := r.Header.Get(IDHeader)
	for i := range events {
		if i > 0 && !sleep(r.Context(), inc.stopping, every) {
			return
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: tick\ndata: {\"server\":%q,\"request\":%q,\"seq\":%d}\n\n", i+1, s.cfg.Name, id, i+1); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// serveWS echoes every WebSocket message back, text as text and binary as
// binary, until the client closes or the server stops (close code 1001).
func (s *Server) serveWS(inc *incarnation, w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	s.stats.status(http.StatusSwitchingProtocols)
	if tc := connFrom(r.Context()); tc != nil {
		tc.rec.stop()
	}
	// The watcher ends the socket when the server stops; the handler waits
	// for it so no goroutine outlives the request.
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-inc.killed:
			_ = c.CloseNow()
		case <-inc.stopping:
			select {
			case <-inc.killed:
				_ = c.CloseNow()
			default:
				_ = c.Close(websocket.StatusGoingAway, "server stopping")
			}
		case <-done:
		}
	}()
	defer func() { close(done); <-watched }()
	ctx := context.Background()
	c.SetReadLimit(16 << 20)
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == -1 {
				_ = c.CloseNow()
			}
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			_ = c.CloseNow()
			return
		}
	}
}
