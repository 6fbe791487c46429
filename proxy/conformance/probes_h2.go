package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetDeadline(time.Now().Add(s.cfg.Timeout))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		return &Observation{Closed: true}, nil
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		return &Observation{Closed: true}, nil
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range fields {
		enc.WriteField(hpack.HeaderField{Name: f.name, Value: f.value})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(),
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
