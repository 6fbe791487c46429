package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// AccessEntry is one request as the access log records it, one JSON object
// per line.
type AccessEntry struct {
	Time     time.Time     `json:"time"`
	ID       string        `json:"id,omitempty"` // X-Proxylab-Id, when the client sent one
	Client   string        `json:"client"`       // peer address as seen by the proxy
	Method   string        `json:"method"`
	Target   string        `json:"target"` // request target (path?query or authority)
	Host     string        `json:"host,omitempty"`
	Proto    string        `json:"proto,omitempty"`
	Status   int           `json:"status"`
	Bytes    int64         `json:"bytes"` // response body bytes sent to the client
	Duration time.Duration `json:"-"`
	Route    string        `json:"route,omitempty"` // pool or rule that served it
	Upstream string        `json:"upstream,omitempty"`
	Attempts int           `json:"attempts,omitempty"`
	Tried    []string      `json:"tried,omitempty"` // upstream names in order of attempts
	Error    string        `json:"error,omitempty"`
}

// accessJSON adds the duration in a unit people read.
type accessJSON struct {
	*AccessEntry
	DurationMS float64 `json:"duration_ms"`
}

// AccessLog writes AccessEntry values as JSON lines to a writer. A nil
// *AccessLog is valid and logs nothing, so callers need no checks.
type AccessLog struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
}

// NewAccessLog returns a log writing to w, or nil (logging off) if w is nil.
func NewAccessLog(w io.Writer) *AccessLog {
	if w == nil {
		return nil
	}
	l := &AccessLog{w: w}
	l.enc = json.NewEncoder(&l.buf)
	l.enc.SetEscapeHTML(false)
	return l
}

// Log writes one entry. Errors of the underlying writer are dropped: the
// access log never fails a request.
func (l *AccessLog) Log(e *AccessEntry) {
	if l == nil || e == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
	if err := l.enc.Encode(accessJSON{AccessEntry: e, DurationMS: float64(e.Duration.Microseconds()) / 1000}); err != nil {
		return
	}
	_, _ = l.w.Write(l.buf.Bytes())
}

// Enabled reports whether Log writes anything.
func (l *AccessLog) Enabled() bool { return l != nil }
