package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Field is one header field of an HTTP/2 request, pseudo-headers first.
type h2Field struct{ name, value string }

// h2Request sends one request over cleartext HTTP/2 with prior knowledge
// (the client preface, SETTINGS, one HEADERS frame that ends the stream) and
// reads frames until the stream ends: its :status, or the stream or
// connection error the proxy answered with instead.
func (s *Session) h2Request(ctx context.Context, fields []h2Field) (*Observation, error) {
	fr, done, closed, err := s.h2Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if closed {
		return &Observation{Closed: true}, nil
	}
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: newH2Block().encode(fields),
		EndStream: true, EndHeaders: true}); err != nil {
		return &Observation{Closed: true}, nil
	}
	o := &Observation{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			o.Closed = !isTimeout(err)
			return o, nil
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			status, _ := strconv.Atoi(f.PseudoValue("status"))
			if status >= 100 && status < 200 {
				continue
			}
			r := Response{Status: status, Header: map[string][]string{}}
			for _, hf := range f.RegularFields() {
				r.Header.Add(hf.Name, hf.Value)
			}
			o.Responses = append(o.Responses, r)
			if f.StreamEnded() {
				return o, nil
			}
		case *http2.DataFrame:
			if f.StreamID == 1 && f.StreamEnded() {
				return o, nil
			}
		case *http2.RSTStreamFrame:
			o.Notes = append(o.Notes, fmt.Sprintf("RST_STREAM %v", f.ErrCode))
			return o, nil
		case *http2.GoAwayFrame:
			o.Notes = append(o.Notes, fmt.Sprintf("GOAWAY %v", f.ErrCode))
			o.Closed = true
			return o, nil
		}
	}
}

// h2Refused accepts a request that never reached a handler: reset, the
// connection gone away, or a 400.
func h2Refused(o *Observation) []string {
	if len(o.Responses) == 0 && (len(o.Notes) > 0 || o.Closed) {
		return nil
	}
	if o.Status() == 400 {
		return nil
	}
	return []string{fmt.Sprintf("answered %d, want RST_STREAM, GOAWAY or 400", o.Status())}
}

func (s *Session) h2Base(extra ...h2Field) []h2Field {
	f := []h2Field{{":method", "GET"}, {":scheme", "http"}, {":authority", s.cfg.Host}, {":path", s.Path()}}
	return append(f, extra...)
}

func probeH2Connection(ctx context.Context, s *Session) (*Observation, error) {
	return s.h2Request(ctx, s.h2Base(h2Field{"connection", "keep-alive"}, h2Field{"keep-alive", "timeout=5"},
		h2Field{"transfer-encoding", "chunked"}, h2Field{"te", "gzip"}))
}

func probeH2Authority(ctx context.Context, s *Session) (*Observation, error) {
	return s.h2Request(ctx, s.h2Base(h2Field{"host", "other.invalid"}))
}

func probeH2BadPath(ctx context.Context, s *Session) (*Observation, error) {
	return s.h2Request(ctx, []h2Field{{":method", "GET"}, {":scheme", "http"}, {":authority", s.cfg.Host},
		{":path", "c/" + s.c.ID + "/no-slash"}})
}

// h2Conn opens an HTTP/2 connection (prior knowledge, or h2 by ALPN under
// TLS) and sends the client preface and SETTINGS; closed says the proxy
// closed the connection before they were written. done closes it.
func (s *Session) h2Conn(ctx context.Context) (fr *http2.Framer, done func(), closed bool, err error) {
	c, err := s.dial(ctx, net.Dialer{Timeout: s.cfg.Timeout}, "h2")
	if err != nil {
		return nil, nil, false, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	done = func() { stop(); c.Close() }
	c.SetDeadline(time.Now().Add(s.cfg.Timeout))
	fr = http2.NewFramer(c, c)
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		return fr, done, true, nil
	}
	return fr, done, fr.WriteSettings() != nil, nil
}

// h2Block encodes header blocks; one per connection keeps HPACK's dynamic
// table in step with the peer's.
type h2Block struct {
	buf bytes.Buffer
	enc *hpack.Encoder
}

func newH2Block() *h2Block {
	b := &h2Block{}
	b.enc = hpack.NewEncoder(&b.buf)
	return b
}

// encode returns the block of fields; it stays valid until the next call.
func (b *h2Block) encode(fields []h2Field) []byte {
	b.buf.Reset()
	for _, f := range fields {
		b.enc.WriteField(hpack.HeaderField{Name: f.name, Value: f.value})
	}
	return b.buf.Bytes()
}

// afterwards checks the proxy still serves a plain HTTP/1.1 request.
func (s *Session) afterwards(ctx context.Context, o *Observation) (*Observation, error) {
	// Its own path (/c/<id>-after), so the origin does not count it for the case.
	next, err := s.Exchange(ctx, s.Fill("GET {target}-after HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"))
	if err != nil {
		return nil, err
	}
	o.Responses = append(o.Responses, next.Responses...)
	return o, nil
}

const floodStreams = 1000

func probeH2RapidReset(ctx context.Context, s *Session) (*Observation, error) {
	fr, done, _, err := s.h2Conn(ctx)
	if err != nil {
		return nil, err
	}
	fields := s.h2Base()
	for i := range fields {
		if fields[i].name == ":path" {
			fields[i].value += "?do=" + DoSleep + "&for=100ms"
		}
	}
	block := newH2Block()
	o := &Observation{}
	sent := 0
	for i := range floodStreams {
		id := uint32(2*i + 1)
		if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.encode(fields), EndStream: true,
			EndHeaders: true}) != nil || fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
			break
		}
		sent++
	}
	o.Notes = append(o.Notes, fmt.Sprintf("%d streams opened and reset", sent))
	done()
	return s.afterwards(ctx, o)
}

func probeH2Continuation(ctx context.Context, s *Session) (*Observation, error) {
	fr, done, _, err := s.h2Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	o := &Observation{}
	if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: newH2Block().encode(s.h2Base()), EndStream: true}) != nil {
		o.Closed = true
		return s.afterwards(ctx, o)
	}
	junk := bytes.Repeat([]byte{0x40, 0x01, 'x', 0x01, 'y'}, 200) // literal "x: y" fields, 1000 bytes a frame
	sent := 0
	for ; sent < 16<<10; sent++ { // up to 16 MiB of header block
		if fr.WriteContinuation(1, false, junk) != nil {
			o.Closed = true
			break
		}
	}
	o.Notes = append(o.Notes, fmt.Sprintf("%d CONTINUATION frames (%d KiB) written before the proxy stopped reading",
		sent, sent*len(junk)>>10))
	return s.afterwards(ctx, o)
}

// servedAfter requires the last response (the plain request sent after an
// attack) to be a 200 from the origin.
func servedAfter(o *Observation) []string {
	if len(o.Responses) == 0 {
		return []string{"nothing answered the request sent after the attack"}
	}
	if last := o.Responses[len(o.Responses)-1]; last.Status != 200 || !last.FromOrigin() {
		return []string{fmt.Sprintf("the request sent after the attack got %d", last.Status)}
	}
	return nil
}
