package forward

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxylab/proxylab/proxy"
)

// bodyOverLimit refuses, before any lookup or dial, a request whose
// Content-Length is over limits.max_body_bytes.
func bodyOverLimit(r *http.Request, pol *policy) *Denial {
	limit := int64(pol.cfg.Limits.MaxBodyBytes)
	if limit <= 0 || r.ContentLength <= limit {
		return nil
	}
	return &Denial{Status: http.StatusRequestEntityTooLarge, Kind: "http_request_error", Rule: "limits.max_body_bytes",
		Detail: fmt.Sprintf("Content-Length %d is over the limit of %d bytes", r.ContentLength, limit),
		Err:    proxy.ErrBodyTooLarge}
}

// requestBody is r's body, or nil when it has none.
func requestBody(r *http.Request) io.ReadCloser {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return nil
	}
	return r.Body
}

// wrapBody prepares a request body of length (-1 unknown) for the upstream:
// the whole body must arrive within ClientBody (slow POST), a body of
// unknown length may grow only up to limits.max_body_bytes (a declared
// length was checked by bodyOverLimit), and the bytes sent are counted. It
// returns nil when body is nil.
func (p *Proxy) wrapBody(w http.ResponseWriter, body io.ReadCloser, length int64, pol *policy) *countingBody {
	if body == nil {
		return nil
	}
	if limit := int64(pol.cfg.Limits.MaxBodyBytes); limit > 0 && length < 0 {
		// MaxBytesReader also tells the server to close the client
		// connection after the answer: the rest of the body is unread.
		body = http.MaxBytesReader(w, body, limit)
	}
	// The deadline is lifted once the body has arrived, so it never cuts
	// the response.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(pol.cfg.Timeouts.ClientBody))
	return &countingBody{ReadCloser: body, done: func() { _ = rc.SetReadDeadline(time.Time{}) }}
}

// countingBody counts request body bytes sent upstream. The Transport
// writes the body on its own goroutine, possibly while the response is
// already being read, so the count is atomic. A read error (over the limit,
// past the deadline, bad framing) reaches the Transport, which aborts the
// upstream request instead of completing it.
type countingBody struct {
	io.ReadCloser
	n    atomic.Int64
	err  atomic.Pointer[error] // the first read error other than EOF
	done func()                // called once at EOF
	once sync.Once
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n.Add(int64(n))
	switch {
	case err == io.EOF:
		c.once.Do(c.done)
	case err != nil:
		c.err.CompareAndSwap(nil, &err)
	}
	return n, err
}

// clientErr returns the client's body error, if reading the body failed; a
// nil c has none.
func (c *countingBody) clientErr() error {
	if c == nil {
		return nil
	}
	if e := c.err.Load(); e != nil {
		return *e
	}
	return nil
}

// clientBodyDenial answers a body the client could not deliver: 413 when it
// grew over limits.max_body_bytes, 408 when the body deadline passed, 400
// for bad framing (bare LF, bad chunk size, oversized chunk extensions).
// All close the connection, since the framing of what follows is unknown.
func clientBodyDenial(err error) *Denial {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &Denial{Status: http.StatusRequestEntityTooLarge, Kind: "http_request_error", Rule: "limits.max_body_bytes",
			Detail: fmt.Sprintf("the request body is over the limit of %d bytes", mbe.Limit),
			Err:    fmt.Errorf("%w: %w", proxy.ErrBodyTooLarge, err)}
	case proxy.IsTimeout(err):
		return &Denial{Status: http.StatusRequestTimeout, Kind: "http_request_error", Rule: "timeouts.client_body",
			Detail: "the request body did not arrive in time", Err: err}
	}
	return &Denial{Status: http.StatusBadRequest, Kind: "http_request_error", Rule: "client_body",
		Detail: "the request body is malformed", Err: err}
}
