package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// plan is every decision for one request, drawn up front in a fixed order so
// the same seed and arrival number give the same decisions.
type plan struct {
	b      Behaviour
	stall  bool
	delay  time.Duration
	status int
	size   int64
	reset  bool
	close  bool
}

func (s *Server) plan(b Behaviour, seq uint64) plan {
	r := s.rngFor(seq)
	p := plan{b: b}
	p.stall = r.Float64() < b.Stall
	p.delay = b.Latency.Sample(r)
	p.status = b.Status.Sample(r)
	p.size = b.Size.Sample(r)
	p.reset = r.Float64() < b.Reset
	p.close = r.Float64() < b.Close
	return p
}

// resetBodyFloor is the body size used when a reset is decided for a response
// that would have had less, so the reset happens mid-body.
const resetBodyFloor = 1024

func (s *Server) serveBehaviour(inc *incarnation, w http.ResponseWriter, r *http.Request, echo bool) {
	s.stats.inflight.Add(1)
	defer s.stats.inflight.Add(-1)
	seq := s.seq.Add(1)

	b, err := s.behaviour.Load().WithRequest(r.URL.Query(), r.Header)
	if err != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		s.stats.status(http.StatusBadRequest)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := s.plan(b, seq)

	var body []byte
	if echo {
		if body, err = buildEcho(s.cfg.Name, r); err != nil {
			return // the client went away while sending its body
		}
	} else if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return
	}

	if p.stall {
		s.stats.stalled.Add(1)
		select {
		case <-r.Context().Done():
		case <-inc.stopping:
		}
		abort(r) // never answer, not even on the way out
		return
	}
	if !sleep(r.Context(), inc.killed, p.delay) {
		abort(r)
		return
	}

	size := p.size
	if echo {
		size = int64(len(body))
	} else if p.reset && size < resetBodyFloor {
		size = resetBodyFloor
	}
	s.setHeaders(w.Header(), p, size, echo)
	s.stats.status(p.status)
	w.WriteHeader(p.status)
	if r.Method == http.MethodHead || !bodyAllowed(p.status) {
		return
	}

	src := io.Reader(&pattern{n: size})
	if echo {
		src = bytes.NewReader(body)
	}
	if p.reset {
		_ = copyN(w, src, max(1, size/2))
		_ = http.NewResponseController(w).Flush()
		s.stats.reset.Add(1)
		abort(r)
		return
	}
	out := &pacedWriter{w: w, rate: p.b.Drip, ctx: r.Context(), killed: inc.killed}
	if p.b.Chunks <= 0 {
		if size > 0 {
			_, _ = io.Copy(out, src)
		}
		return
	}
	s.writeChunks(r, inc, out, src, size, p.b)
}

// setHeaders sets the response headers the plan calls for.
func (s *Server) setHeaders(h http.Header, p plan, size int64, echo bool) {
	if echo {
		h.Set("Content-Type", "application/json")
	}
	if p.delay > 0 {
		h.Set(DelayHeader, p.delay.String())
	}
	for k, vs := range p.b.Headers {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if p.close {
		s.stats.closed.Add(1)
		h.Set("Connection", "close")
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	streamed := p.b.Chunks > 0 || p.b.Drip > 0
	if !streamed || p.reset { // a reset promises the whole length, then breaks the promise
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
}

// writeChunks sends the body in b.Chunks pieces, one every b.ChunkEvery. With
// no body each chunk is one short line.
func (s *Server) writeChunks(r *http.Request, inc *incarnation, out *pacedWriter, src io.Reader, size int64, b Behaviour) {
	n := int64(b.Chunks)
	for i := range n {
		if i > 0 && !sleep(r.Context(), inc.killed, b.ChunkEvery) {
			return
		}
		var err error
		if size == 0 {
			_, err = fmt.Fprintf(out, "chunk %d/%d\n", i+1, n)
		} else {
			part := size/n + boolInt(i < size%n)
			err = copyN(out, src, part)
		}
		if err != nil {
			return
		}
		out.flush()
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status < 200) && status != http.StatusNoContent && status != http.StatusNotModified
}

// abort resets the request's connection so that no (further) response bytes
// are sent. On HTTP/2 this resets the whole connection.
func abort(r *http.Request) {
	if c := connFrom(r.Context()); c != nil {
		c.reset()
	}
}

// sleep waits d, or returns false when the request or the server ends first.
func sleep(ctx context.Context, killed <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-killed:
		return false
	}
}

// pacedWriter writes at rate bytes per second (0 = unpaced), flushing each
// piece so the client sees the drip.
type pacedWriter struct {
	w      http.ResponseWriter
	rate   int64
	ctx    context.Context
	killed <-chan struct{}
	next   time.Time
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	if p.rate <= 0 {
		return p.w.Write(b)
	}
	piece := max(1, int(p.rate/20)) // about 20 writes a second
	written := 0
	for len(b) > 0 {
		k := min(piece, len(b))
		n, err := p.w.Write(b[:k])
		written += n
		if err != nil {
			return written, err
		}
		p.flush()
		b = b[k:]
		// Keep to the schedule, catching up on late wake-ups, unless more
		// than 50ms behind (the client was slow to read).
		if now := time.Now(); now.Sub(p.next) > 50*time.Millisecond {
			p.next = now
		}
		p.next = p.next.Add(time.Duration(float64(k) / float64(p.rate) * float64(time.Second)))
		if !sleep(p.ctx, p.killed, time.Until(p.next)) {
			return written, context.Canceled
		}
	}
	return written, nil
}

func (p *pacedWriter) flush() { _ = http.NewResponseController(p.w).Flush() }

// pattern is n bytes of printable filler, written from one shared block.
type pattern struct {
	n   int64
	off int64
}

const filler = "proxylab-sim-body-0123456789abcdefghijklmnopqrstuvwxyz\n"

// fillerBlock repeats filler to a little over 32 KiB; writing from
// fillerBlock[off%len(filler):] keeps the pattern continuous.
var fillerBlock = []byte(strings.Repeat(filler, (32<<10)/len(filler)+2))

// Read fills b (for readers that want one); WriteTo is the fast path.
func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.off)
	for i := range k {
		b[i] = filler[(p.off+i)%int64(len(filler))]
	}
	p.off += k
	return int(k), nil
}

// WriteTo writes what is left without allocating.
func (p *pattern) WriteTo(w io.Writer) (int64, error) { return p.writeN(w, p.n-p.off) }

// writeN writes the next n bytes (at most what is left).
func (p *pattern) writeN(w io.Writer, n int64) (int64, error) {
	n = min(n, p.n-p.off)
	var written int64
	span := int64(len(fillerBlock) - len(filler))
	for written < n {
		start := p.off % int64(len(filler))
		k := min(n-written, span)
		m, err := w.Write(fillerBlock[start : start+k])
		written += int64(m)
		p.off += int64(m)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// copyN copies n bytes of a body, without a buffer for filler bodies.
func copyN(w io.Writer, r io.Reader, n int64) error {
	if p, ok := r.(*pattern); ok {
		_, err := p.writeN(w, n)
		return err
	}
	_, err := io.CopyN(w, r, n)
	return err
}
