package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
)

// Sentinel errors a caller can match with errors.Is; StatusFor maps each to
// its HTTP status.
var (
	// ErrNoUpstream means no server of the pool may take the request
	// (all unhealthy, draining or ejected): 503.
	ErrNoUpstream = errors.New("no available upstream")
	// ErrBreakerOpen means a circuit breaker limit refused the request: 503.
	ErrBreakerOpen = errors.New("circuit breaker open")
	// ErrClientBody means reading the client's request body failed (bad
	// chunked framing, early close): 400, and never the upstream's fault.
	ErrClientBody = errors.New("bad client request body")
	// ErrBodyTooLarge means the request body passed the configured limit: 413.
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrHeaderTooLarge means the request headers passed the limit: 431.
	ErrHeaderTooLarge = errors.New("request headers too large")
	// ErrNoRoute means no route matches the request's host and path: 404.
	ErrNoRoute = errors.New("no route")
	// ErrLoop means the request already went through this proxy (Via): 508.
	ErrLoop = errors.New("proxy loop detected")
)

// Error is an error with the HTTP status it should produce and a short
// machine-friendly reason (for logs, metrics and the client).
type Error struct {
	// Status is the HTTP status code; 0 means StatusFor(Err).
	Status int
	// Reason is a short snake_case word such as "dial" or "breaker_open".
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Errorf returns an *Error with the given status and reason wrapping a
// formatted error.
func Errorf(status int, reason, format string, a ...any) *Error {
	return &Error{Status: status, Reason: reason, Err: fmt.Errorf(format, a...)}
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	if e.Reason == "" {
		return e.Err.Error()
	}
	return e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// StatusFor maps an error to the HTTP status a proxy answers with. It is the
// one place where that decision is made:
//
//	*Error with Status set       → that status
//	ErrNoRoute                   → 404
//	ErrNoUpstream, ErrBreakerOpen → 503
//	ErrClientBody                → 400
//	ErrBodyTooLarge, *http.MaxBytesError → 413
//	ErrHeaderTooLarge            → 431
//	ErrLoop                      → 508
//	dial failures (even timed out)   → 502
//	timeouts (deadline, net.Error.Timeout) → 504
//	anything else                    → 502
func StatusFor(err error) int {
	status, _ := classify(err)
	return status
}

// ReasonFor returns the short reason word for err, as used in access logs,
// metrics and error bodies ("dial", "timeout", "no_upstream", …).
func ReasonFor(err error) string {
	_, reason := classify(err)
	return reason
}

func classify(err error) (int, string) {
	if err == nil {
		return http.StatusOK, ""
	}
	var pe *Error
	if errors.As(err, &pe) && pe.Status != 0 {
		reason := pe.Reason
		if reason == "" && pe.Err != nil {
			_, reason = classify(pe.Err)
		}
		return pe.Status, reason
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNoRoute):
		return http.StatusNotFound, "no_route"
	case errors.Is(err, ErrBreakerOpen):
		return http.StatusServiceUnavailable, "breaker_open"
	case errors.Is(err, ErrNoUpstream):
		return http.StatusServiceUnavailable, "no_upstream"
	case errors.Is(err, ErrBodyTooLarge), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "body_too_large"
	case errors.Is(err, ErrHeaderTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge, "header_too_large"
	case errors.Is(err, ErrClientBody):
		return http.StatusBadRequest, "client_body"
	case errors.Is(err, ErrLoop):
		return http.StatusLoopDetected, "loop"
	case errors.Is(err, context.Canceled):
		// The client went away; nginx logs 499. Nothing reaches the client.
		return 499, "client_canceled"
	case IsDialError(err):
		return http.StatusBadGateway, "dial"
	case isTimeout(err):
		return http.StatusGatewayTimeout, "timeout"
	}
	return http.StatusBadGateway, "upstream"
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// IsDialError reports whether err happened while connecting to the upstream,
// so that nothing of the request was sent and a retry is always safe.
func IsDialError(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// IsTimeout reports whether err is a timeout (StatusFor maps it to 504).
func IsTimeout(err error) bool { return isTimeout(err) }

// WriteError answers with the status for err and a one-line text body naming
// the reason. Proxies use it so clients see the same shape everywhere.
func WriteError(w http.ResponseWriter, err error) {
	status, reason := classify(err)
	if status == 499 {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Proxylab-Error", reason)
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s: %s\n", status, http.StatusText(status), reason)
}
