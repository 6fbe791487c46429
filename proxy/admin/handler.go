package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/proxylab/proxylab/proxy"
)

// MaxBodyBytes caps request bodies of the admin API (configs included).
const MaxBodyBytes = 4 << 20

// Target is what the admin API controls. *reverse.Proxy implements it.
type Target interface {
	// Pools lists pools with the live state of their servers.
	Pools() []proxy.PoolStatus
	// AddServer adds a server to a pool.
	AddServer(pool string, s proxy.UpstreamSpec) error
	// RemoveServer drains a server, waits for its in-flight requests, removes it.
	RemoveServer(pool, name string) error
	// DrainServer stops new requests to a server.
	DrainServer(pool, name string) error
	// SetWeight changes a server's weight.
	SetWeight(pool, name string, weight int) error
	// SwapConfig parses a YAML or JSON configuration and swaps to it
	// atomically, keeping the old one on error.
	SwapConfig(data []byte) error
	// MetricsHandler serves the proxy's Prometheus metrics.
	MetricsHandler() http.Handler
}

// Undrainer is an optional capability: putting a drained server back.
type Undrainer interface {
	UndrainServer(pool, name string) error
}

// NewHandler returns the admin API for t.
func NewHandler(t Target) http.Handler {
	a := &api{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /pools", a.pools)
	mux.HandleFunc("GET /pools/{pool}", a.pool)
	mux.HandleFunc("POST /pools/{pool}/servers", a.addServer)
	mux.HandleFunc("DELETE /pools/{pool}/servers/{name}", a.removeServer)
	mux.HandleFunc("POST /pools/{pool}/servers/{name}/drain", a.drain)
	mux.HandleFunc("DELETE /pools/{pool}/servers/{name}/drain", a.undrain)
	mux.HandleFunc("PUT /pools/{pool}/servers/{name}/weight", a.weight)
	mux.HandleFunc("PUT /config", a.config)
	mux.Handle("GET /metrics", t.MetricsHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s; see GET /pools, PUT /config", r.Method, r.URL.Path))
	})
	return mux
}

type api struct{ t Target }

func (a *api) pools(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"pools": a.t.Pools()})
}

func (a *api) pool(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("pool")
	for _, p := range a.t.Pools() {
		if p.Name == name {
			writeJSON(w, http.StatusOK, p)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Errorf("pool %s: %w", name, proxy.ErrNotFound))
}

func (a *api) addServer(w http.ResponseWriter, r *http.Request) {
	var s proxy.UpstreamSpec
	if err := decodeJSON(r, &s); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("server: %w; want {\"name\":\"server4\",\"url\":\"http://127.0.0.1:4004\",\"weight\":1}", err))
		return
	}
	if err := a.t.AddServer(r.PathValue("pool"), s); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"added": s.Name, "pool": r.PathValue("pool")})
}

func (a *api) removeServer(w http.ResponseWriter, r *http.Request) {
	if err := a.t.RemoveServer(r.PathValue("pool"), r.PathValue("name")); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"removed": r.PathValue("name"), "pool": r.PathValue("pool")})
}

func (a *api) drain(w http.ResponseWriter, r *http.Request) {
	if err := a.t.DrainServer(r.PathValue("pool"), r.PathValue("name")); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"draining": r.PathValue("name"), "pool": r.PathValue("pool")})
}

func (a *api) undrain(w http.ResponseWriter, r *http.Request) {
	u, ok := a.t.(Undrainer)
	if !ok {
		writeError(w, http.StatusNotImplemented, errors.New("this proxy cannot put a drained server back"))
		return
	}
	if err := u.UndrainServer(r.PathValue("pool"), r.PathValue("name")); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"undrained": r.PathValue("name"), "pool": r.PathValue("pool")})
}

func (a *api) weight(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var in struct {
		Weight *int `json:"weight"`
	}
	weight, perr := strconv.Atoi(strings.TrimSpace(string(body)))
	if perr != nil {
		if err := json.Unmarshal(body, &in); err != nil || in.Weight == nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("weight %q: want {\"weight\":N} or a bare integer", strings.TrimSpace(string(body))))
			return
		}
		weight = *in.Weight
	}
	if err := a.t.SetWeight(r.PathValue("pool"), r.PathValue("name"), weight); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": r.PathValue("name"), "pool": r.PathValue("pool"), "weight": weight})
}

func (a *api) config(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := a.t.SwapConfig(body); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("config refused, the old one stays: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"swapped": true, "pools": a.t.Pools()})
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

func decodeJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	return nil
}

// writeControlError maps a control method's error to its status.
func writeControlError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, proxy.ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, proxy.ErrExists):
		writeError(w, http.StatusConflict, err)
	default:
		writeError(w, http.StatusBadRequest, err)
	}
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
