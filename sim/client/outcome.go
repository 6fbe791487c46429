package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrKind classifies why a request failed; empty means it completed (whatever its status).
type ErrKind string

// The error kinds a request can end with.
const (
	ErrNone     ErrKind = ""
	ErrTimeout  ErrKind = "timeout"  // no answer within the deadline
	ErrRefused  ErrKind = "refused"  // the connection was refused
	ErrReset    ErrKind = "reset"    // the peer reset the connection
	ErrEOF      ErrKind = "eof"      // the connection closed before a complete response
	ErrCanceled ErrKind = "canceled" // the caller's context ended
	ErrOther    ErrKind = "other"
)

// Outcome is what happened to one request, as its client saw it.
type Outcome struct {
	ID      string        `json:"id"`
	Client  string        `json:"client"`
	Method  string        `json:"method"`
	URL     string        `json:"url"`
	Start   time.Time     `json:"start"`
	Latency time.Duration `json:"latency_ns"`
	Status  int           `json:"status,omitempty"`
	Proto   string        `json:"proto,omitempty"`
	ErrKind ErrKind       `json:"error_kind,omitempty"`
	Err     string        `json:"error,omitempty"`
	// Server is the simulated server that answered (its X-Sim-Server header), if any.
	Server string      `json:"server,omitempty"`
	Bytes  int64       `json:"bytes"`
	Header http.Header `json:"-"`
}

// OK reports whether the request completed with a non-5xx status.
func (o Outcome) OK() bool { return o.ErrKind == ErrNone && o.Status > 0 && o.Status < 500 }

// Classify maps a transport error to an error kind.
func Classify(err error) ErrKind {
	switch {
	case err == nil:
		return ErrNone
	case errors.Is(err, context.Canceled):
		return ErrCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ErrReset
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ErrEOF
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return ErrRefused
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"):
		return ErrReset
	case strings.Contains(msg, "EOF"), strings.Contains(msg, "server closed"):
		return ErrEOF
	case strings.Contains(msg, "timeout"), strings.Contains(msg, "deadline exceeded"):
		return ErrTimeout
	}
	return ErrOther
}
