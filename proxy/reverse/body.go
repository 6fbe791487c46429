package reverse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/proxylab/proxylab/proxy"
)

// body holds a request body so that a retry can resend it: bodies up to the
// replay limit are read whole before the first attempt; larger ones stream
// and can be retried only while nothing of them was consumed (a dial
// failure). It also records the client's own read errors, which are the
// client's fault (400/413), never the upstream's.
type body struct {
	src        io.ReadCloser
	buf        *bytes.Buffer
	replayable bool
	length     int64 // ContentLength for attempts; -1 unknown
	consumed   bool  // a streaming attempt read from src
	err        error // first client read error (not EOF)
	mu         sync.Mutex
	// open counts attempt readers not closed yet. http.Transport may still
	// read a body after RoundTrip returned (an early response); the buffer
	// and the request state are recycled only once every reader is closed.
	open atomic.Int32
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// prepare reads up to limit bytes of r's body. It returns a client error
// (ErrClientBody, *http.MaxBytesError) when the body cannot be read.
func (b *body) prepare(r *http.Request, limit int64) error {
	*b = body{length: r.ContentLength}
	if r.Body == nil || r.Body == http.NoBody {
		b.replayable = true
		b.length = 0
		return nil
	}
	b.src = r.Body
	if limit <= 0 {
		return nil
	}
	if r.ContentLength > limit {
		return nil // too large to keep: stream it
	}
	b.buf = bufPool.Get().(*bytes.Buffer)
	b.buf.Reset()
	n, err := b.buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		b.err = err
		return clientBodyError(err)
	}
	if n <= limit {
		b.replayable = true
		b.length = n
		r.Body.Close()
		b.src = nil
	}
	return nil
}

// inUse reports whether an attempt may still read b.
func (b *body) inUse() bool { return b.open.Load() != 0 }

// release returns the buffer to the pool; b must not be used afterwards,
// and no reader may be open (see inUse).
func (b *body) release() {
	if b.buf != nil && b.buf.Cap() <= 1<<20 {
		bufPool.Put(b.buf)
	}
	b.buf = nil
}

func clientBodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &proxy.Error{Status: http.StatusRequestEntityTooLarge, Reason: "body_too_large", Err: err}
	}
	return &proxy.Error{Status: http.StatusBadRequest, Reason: "client_body", Err: fmt.Errorf("%w: %w", proxy.ErrClientBody, err)}
}

// canReplay reports whether another attempt can send the whole body.
func (b *body) canReplay() bool {
	if b.replayable {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.consumed && b.err == nil
}

// clientErr returns the client's body error as a proxy error, or nil.
func (b *body) clientErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		return nil
	}
	return clientBodyError(b.err)
}

// reader returns a fresh body for one attempt and its length (-1 unknown).
func (b *body) reader() (io.ReadCloser, int64) {
	if b.replayable {
		if b.length == 0 {
			return http.NoBody, 0
		}
		b.open.Add(1)
		r := &replayReader{b: b}
		r.Reset(b.buf.Bytes())
		return r, b.length
	}
	var prefix []byte
	if b.buf != nil {
		prefix = b.buf.Bytes()
	}
	b.open.Add(1)
	return &streamReader{b: b, prefix: prefix}, b.length
}

// replayReader reads the kept body once; Close tells the body it is done.
type replayReader struct {
	bytes.Reader
	b      *body
	closed atomic.Bool
}

func (r *replayReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.b.open.Add(-1)
	}
	return nil
}

// streamReader sends the kept prefix, then the client's body; closing it
// leaves the client's body open so a dial-failure retry can still use it.
type streamReader struct {
	b      *body
	prefix []byte
	closed atomic.Bool
}

func (s *streamReader) Read(p []byte) (int, error) {
	if len(s.prefix) > 0 {
		s.b.mu.Lock()
		s.b.consumed = true
		s.b.mu.Unlock()
		n := copy(p, s.prefix)
		s.prefix = s.prefix[n:]
		return n, nil
	}
	n, err := s.b.src.Read(p)
	s.b.mu.Lock()
	if n > 0 {
		s.b.consumed = true
	}
	if err != nil && err != io.EOF && s.b.err == nil {
		s.b.err = err
	}
	s.b.mu.Unlock()
	return n, err
}

func (s *streamReader) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.b.open.Add(-1)
	}
	return nil
}
