package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Behaviour is what the server does with each request. The zero value answers
// 200 at once with an empty body. Every field can be overridden per request by
// the query parameter or X-Sim-* header named in its comment; the query
// parameter wins when both are given.
type Behaviour struct {
	// Latency delays the response; zero means no delay. ?latency= / X-Sim-Latency.
	Latency Latency `yaml:"latency,omitempty" json:"latency,omitempty"`
	// Status picks the status code; zero means 200. ?status= / X-Sim-Status.
	Status StatusMix `yaml:"status,omitempty" json:"status,omitempty"`
	// Size picks the body size; zero means no body (the echo endpoint ignores
	// it and sends its JSON). ?size= / X-Sim-Size.
	Size SizeMix `yaml:"size,omitempty" json:"size,omitempty"`
	// Headers are added to every response; nil adds none. ?header=K:V (repeatable)
	// / X-Sim-Header: K:V (repeatable).
	Headers http.Header `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Chunks streams the body in this many chunks, one every ChunkEvery, with
	// chunked transfer encoding; 0 sends the body in one write. ?chunks= / X-Sim-Chunks.
	Chunks int `yaml:"chunks,omitempty" json:"chunks,omitempty"`
	// ChunkEvery is the pause before each chunk after the first; 0 means none.
	// ?chunk-every= / X-Sim-Chunk-Every.
	ChunkEvery time.Duration `yaml:"chunk_every,omitempty" json:"chunk_every,omitempty"`
	// Drip sends the body at this many bytes per second; 0 means as fast as
	// the connection takes it. ?drip= / X-Sim-Drip.
	Drip int64 `yaml:"drip,omitempty" json:"drip,omitempty"`
	// Stall is the probability (0..1) that the server reads the request and
	// never answers, until the client gives up or the server stops. ?stall= / X-Sim-Stall.
	Stall float64 `yaml:"stall,omitempty" json:"stall,omitempty"`
	// Reset is the probability (0..1) that the connection is reset (RST) after
	// the headers and part of the body. ?reset= / X-Sim-Reset.
	Reset float64 `yaml:"reset,omitempty" json:"reset,omitempty"`
	// Close is the probability (0..1) that the connection is closed after the
	// response (Connection: close). ?close= / X-Sim-Close.
	Close float64 `yaml:"close,omitempty" json:"close,omitempty"`
}

// Knob names, as query parameters; the header form is "X-Sim-" + the
// canonical name (X-Sim-Latency, X-Sim-Chunk-Every, …).
const (
	KnobLatency    = "latency"
	KnobStatus     = "status"
	KnobSize       = "size"
	KnobHeader     = "header"
	KnobChunks     = "chunks"
	KnobChunkEvery = "chunk-every"
	KnobDrip       = "drip"
	KnobStall      = "stall"
	KnobReset      = "reset"
	KnobClose      = "close"
)

// HeaderPrefix starts the request header form of every knob.
const HeaderPrefix = "X-Sim-"

// Clone returns a deep copy of b.
func (b Behaviour) Clone() Behaviour {
	b.Headers = b.Headers.Clone()
	return b
}

// Validate reports every field that is out of range.
func (b Behaviour) Validate() error {
	var errs []error
	if b.Chunks < 0 {
		errs = append(errs, fmt.Errorf("chunks %d is negative; want 0 or more", b.Chunks))
	}
	if b.ChunkEvery < 0 {
		errs = append(errs, fmt.Errorf("chunk-every %s is negative; want a duration like 100ms", b.ChunkEvery))
	}
	if b.Drip < 0 {
		errs = append(errs, fmt.Errorf("drip %d is negative; want bytes per second like 1024", b.Drip))
	}
	for name, p := range map[string]float64{KnobStall: b.Stall, KnobReset: b.Reset, KnobClose: b.Close} {
		if p < 0 || p > 1 {
			errs = append(errs, fmt.Errorf("%s %g is outside 0..1; %s", name, p, probabilityForm))
		}
	}
	return errors.Join(errs...)
}

// SetKnob sets one knob by name from its string form, as the query string,
// the X-Sim-* headers and the serve command's flags write it. For "header"
// the value is "Name:Value" and is added to the others.
func (b *Behaviour) SetKnob(name, value string) error {
	var err error
	switch strings.ToLower(name) {
	case KnobLatency:
		b.Latency, err = ParseLatency(value)
	case KnobStatus:
		b.Status, err = ParseStatusMix(value)
	case KnobSize:
		b.Size, err = ParseSizeMix(value)
	case KnobHeader:
		var k, v string
		if k, v, err = ParseHeader(value); err == nil {
			if b.Headers == nil {
				b.Headers = http.Header{}
			}
			b.Headers.Add(k, v)
		}
	case KnobChunks:
		b.Chunks, err = strconv.Atoi(strings.TrimSpace(value))
		if err != nil || b.Chunks < 0 {
			err = fmt.Errorf("chunks %q is not a count; want a whole number like 5", value)
		}
	case KnobChunkEvery:
		b.ChunkEvery, err = parseDuration(value)
		if err != nil {
			err = fmt.Errorf("chunk-every: %w; want a duration like 100ms", err)
		}
	case KnobDrip:
		var n int64
		n, err = ParseSize(strings.TrimSuffix(strings.TrimSpace(value), "/s"))
		if err != nil {
			err = fmt.Errorf("drip: %w; want bytes per second like 1024 or 1KiB/s", err)
		}
		b.Drip = n
	case KnobStall:
		b.Stall, err = ParseProbability(KnobStall, value)
	case KnobReset:
		b.Reset, err = ParseProbability(KnobReset, value)
	case KnobClose:
		b.Close, err = ParseProbability(KnobClose, value)
	default:
		err = fmt.Errorf("unknown knob %q; want one of latency, status, size, header, chunks, chunk-every, drip, stall, reset, close", name)
	}
	return err
}

var knobNames = []string{KnobLatency, KnobStatus, KnobSize, KnobHeader, KnobChunks, KnobChunkEvery, KnobDrip, KnobStall, KnobReset, KnobClose}

// WithRequest returns b overridden by the request's query parameters and
// X-Sim-* headers. An invalid value is an error naming the knob, the value
// and the expected form.
func (b Behaviour) WithRequest(q url.Values, h http.Header) (Behaviour, error) {
	out := b
	cloned := false
	for _, name := range knobNames {
		values, ok := q[name]
		if !ok {
			values, ok = h[http.CanonicalHeaderKey(HeaderPrefix+name)]
		}
		if !ok {
			continue
		}
		if name == KnobHeader && !cloned {
			out.Headers, cloned = out.Headers.Clone(), true
		}
		for _, v := range values {
			if err := out.SetKnob(name, v); err != nil {
				return b, err
			}
		}
	}
	return out, nil
}
