package loadgen

import (
	"context"
	"time"
)

// Slot is one request the engine asks a Doer to send.
type Slot struct {
	Phase    string    // the phase it belongs to
	Seq      uint64    // 0-based sequence number within the whole run
	Intended time.Time // when it was due; corrected latency is measured from here
	Worker   int       // the worker sending it, unique among concurrently running workers of a phase
}

// Result is what a Doer reports for one Slot. A failed request is data: it
// has Err set, it is not a Go error.
type Result struct {
	Start  time.Time     // when the request actually started; zero means "when Do was called"
	Raw    time.Duration // from Start to the end of the response; 0 means "measured by the engine"
	Status int           // HTTP status; 0 when no response came
	Err    string        // error kind (ErrRefused, ErrTimeout, …), "" on success
	Bytes  int64         // response bytes read (body)
	Tags   Tags
}

// Tags attribute a result. The doer fills them; the engine adds the phase and
// the status class.
type Tags struct {
	Client string `json:"client,omitempty"` // the simulated client that sent it
	Server string `json:"server,omitempty"` // the server that answered it (e.g. X-Sim-Server)
}

// Error kinds a Doer puts in Result.Err. Doers may use their own kinds; these
// are the ones HTTPDoer produces.
const (
	ErrRefused  = "refused"  // connection refused
	ErrTimeout  = "timeout"  // dial, write or read deadline exceeded
	ErrReset    = "reset"    // connection reset by peer
	ErrEOF      = "eof"      // connection closed before a complete response
	ErrCanceled = "canceled" // the run ended (ctx done) before the response
	ErrProtocol = "protocol" // a malformed response
	ErrDNS      = "dns"      // name resolution failed
	ErrOther    = "other"    // anything else
)

// Success reports whether r counts as a success: no error kind and a status
// below 400.
func (r Result) Success() bool { return r.Err == "" && r.Status > 0 && r.Status < 400 }

// StatusClass is "1xx" … "5xx", or "error" when no response came.
func (r Result) StatusClass() string {
	if r.Status < 100 || r.Status > 599 {
		return "error"
	}
	return statusClasses[r.Status/100-1]
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// Doer performs one request. It must honour ctx: when ctx ends it returns
// promptly with Err = ErrCanceled. Do is called concurrently.
type Doer interface {
	Do(ctx context.Context, s Slot) Result
}

// DoerFunc adapts a function to Doer.
type DoerFunc func(ctx context.Context, s Slot) Result

// Do calls f.
func (f DoerFunc) Do(ctx context.Context, s Slot) Result { return f(ctx, s) }

var _ Doer = DoerFunc(nil)
