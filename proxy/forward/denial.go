package forward

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"syscall"

	"github.com/proxylab/proxylab/proxy"
)

// Denial is a request the proxy refused or could not serve, with everything
// the client, the decision log and the metrics need to know about it.
type Denial struct {
	// Status is the HTTP status answered (400, 403, 407, 408, 413, 429, 502, 503, 504, 508).
	Status int
	// Kind is the RFC 9209 Proxy-Status error type, e.g. "destination_ip_prohibited".
	Kind string
	// Rule names what decided, e.g. "deny[0] *.internal", "ssrf loopback",
	// "connect_ports", "auth".
	Rule string
	// Detail is a sentence for humans.
	Detail string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (d *Denial) Error() string {
	s := fmt.Sprintf("%d %s: %s", d.Status, d.Kind, d.Detail)
	if d.Err != nil {
		s += ": " + d.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (d *Denial) Unwrap() error { return d.Err }

func deny(status int, kind, rule, format string, a ...any) *Denial {
	return &Denial{Status: status, Kind: kind, Rule: rule, Detail: fmt.Sprintf(format, a...)}
}

// upstreamDenial maps a dial or round-trip failure to what the client sees,
// using the shared proxy.StatusFor mapping (timeout 504, anything else 502).
func upstreamDenial(what string, err error) *Denial {
	var d *Denial
	if errors.As(err, &d) {
		return d
	}
	status := proxy.StatusFor(err)
	kind := "destination_unavailable"
	switch {
	case proxy.IsTimeout(err):
		kind = "connection_timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "connection_refused"
	case errors.Is(err, context.Canceled):
		kind = "client_canceled"
	}
	return &Denial{Status: status, Kind: kind, Rule: "upstream", Detail: what + " failed (" + proxy.ReasonFor(err) + ")", Err: err}
}

// proxyStatus renders the RFC 9209 Proxy-Status field value.
func (d *Denial) proxyStatus(name string) string {
	return name + "; error=" + d.Kind + "; details=" + strconv.Quote(d.Detail)
}

// write answers the client with the denial: the status, a Proxy-Status
// header, and a one-line text body giving the reason.
func (d *Denial) write(w http.ResponseWriter, name string) {
	h := w.Header()
	h.Set("Proxy-Status", d.proxyStatus(name))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	switch d.Status {
	case http.StatusProxyAuthRequired:
		h.Set("Proxy-Authenticate", `Basic realm="proxylab"`)
	case http.StatusTooManyRequests:
		h.Set("Retry-After", "1")
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge:
		h.Set("Connection", "close")
	}
	w.WriteHeader(d.Status)
	fmt.Fprintf(w, "%d %s: %s\n", d.Status, http.StatusText(d.Status), d.Detail)
}
