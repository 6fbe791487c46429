package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
)

type bodyMode uint8

const (
	modeLength  bodyMode = iota // Content-Length
	modeChunked                 // Transfer-Encoding: chunked
	modeClose                   // until the upstream closes
)

// maxChunkLine bounds a chunk-size line, extensions included (as net/http).
const maxChunkLine = 4096

// errMalformedChunk is a chunked body that breaks RFC 9112 §7.1.
var errMalformedChunk = errors.New("malformed chunked encoding in upstream response")

// Body reads one response body, framed as its ResponseHead says, from its
// connection. Read to the end and closed, it hands the connection back to
// the Client's pool (when the head allows reuse); closed earlier, it closes
// the connection. The zero Body is unusable: Reset it for each response, so
// that a Body can live in a pooled per-request state without allocating.
type Body struct {
	h         *Client
	pc        *Conn
	br        *bufio.Reader
	mode      bodyMode
	remaining int64 // modeLength: bytes left; modeChunked: bytes left in the chunk
	started   bool  // modeChunked: a chunk was read (its CRLF is due)
	reuse     bool
	eof       bool
	done      bool
	err       error
	maxTrail  int

	// Trailer holds the trailer fields of a chunked body once it was read to
	// the end; nil when there were none.
	Trailer http.Header
}

// Reset prepares b to read the body of the response rh just read from pc; h
// is the Client pc came from.
func (b *Body) Reset(h *Client, pc *Conn, rh *ResponseHead) {
	*b = Body{h: h, pc: pc, br: pc.br, reuse: !rh.Close, maxTrail: h.cfg.MaxResponseHeaderBytes}
	switch {
	case rh.Chunked:
		b.mode = modeChunked
	case rh.ContentLength >= 0:
		b.mode = modeLength
		b.remaining = rh.ContentLength
		b.eof = rh.ContentLength == 0
	default:
		b.mode = modeClose
	}
}

// Buffered reports whether the rest of the body is already in memory (a
// Content-Length body that arrived with its head): reading it cannot block.
func (b *Body) Buffered() bool {
	return b.eof || b.mode == modeLength && int64(b.br.Buffered()) >= b.remaining
}

// next returns the bytes of the body available without copying (at least
// one, reading from the connection if need be), or the error that ends the
// body (io.EOF at its end). The caller consumes them with b.consume.
func (b *Body) next() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.eof {
		return nil, io.EOF
	}
	switch b.mode {
	case modeLength:
		if _, err := b.br.Peek(1); err != nil {
			return nil, b.fail(unexpected(err))
		}
		n := b.br.Buffered()
		if int64(n) > b.remaining {
			n = int(b.remaining)
		}
		buf, _ := b.br.Peek(n)
		return buf, nil
	case modeChunked:
		if b.remaining == 0 {
			if err := b.nextChunk(); err != nil {
				return nil, err
			}
			if b.eof {
				return nil, io.EOF
			}
		}
		if _, err := b.br.Peek(1); err != nil {
			return nil, b.fail(unexpected(err))
		}
		n := b.br.Buffered()
		if int64(n) > b.remaining {
			n = int(b.remaining)
		}
		buf, _ := b.br.Peek(n)
		return buf, nil
	default:
		if _, err := b.br.Peek(1); err != nil {
			if err == io.EOF {
				b.eof = true
				return nil, io.EOF
			}
			return nil, b.fail(err)
		}
		buf, _ := b.br.Peek(b.br.Buffered())
		return buf, nil
	}
}

// consume marks n bytes returned by next as read.
func (b *Body) consume(n int) {
	b.br.Discard(n)
	if b.mode == modeClose {
		return
	}
	b.remaining -= int64(n)
	if b.mode == modeLength && b.remaining == 0 {
		b.eof = true
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (b *Body) fail(err error) error {
	b.err = err
	return err
}

// nextChunk reads the CRLF ending the previous chunk, the next chunk-size
// line and, after the last chunk, the trailer section.
func (b *Body) nextChunk() error {
	if b.started {
		crlf, err := b.br.Peek(2)
		if err != nil {
			return b.fail(unexpected(err))
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return b.fail(errMalformedChunk)
		}
		b.br.Discard(2)
	}
	b.started = true
	line, err := b.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return b.fail(errMalformedChunk)
		}
		return b.fail(unexpected(err))
	}
	if len(line) > maxChunkLine || len(line) < 3 || line[len(line)-2] != '\r' {
		return b.fail(errMalformedChunk)
	}
	line = line[:len(line)-2]
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if len(line) == 0 || len(line) > 16 {
		return b.fail(errMalformedChunk)
	}
	var n uint64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return b.fail(errMalformedChunk)
		}
		n = n<<4 | uint64(c)
	}
	if n > 1<<62 {
		return b.fail(errMalformedChunk)
	}
	b.remaining = int64(n)
	if n == 0 {
		return b.readTrailer()
	}
	return nil
}

// readTrailer reads the fields after the last chunk up to the blank line.
func (b *Body) readTrailer() error {
	size := 0
	for {
		line, err := b.br.ReadSlice('\n')
		if err != nil {
			if err == bufio.ErrBufferFull {
				return b.fail(errMalformedChunk)
			}
			return b.fail(unexpected(err))
		}
		size += len(line)
		if size > b.maxTrail {
			return b.fail(ErrHeadTooLarge)
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		if s == "" {
			b.eof = true
			return nil
		}
		name, value, ok := strings.Cut(s, ":")
		if !ok || s[0] == ' ' || s[0] == '\t' {
			return b.fail(errMalformedChunk)
		}
		key := canonicalKey(name)
		switch key {
		case "Transfer-Encoding", "Trailer", "Content-Length", "Host":
			continue // never framing fields in a trailer
		}
		if b.Trailer == nil {
			b.Trailer = make(http.Header)
		}
		b.Trailer[key] = append(b.Trailer[key], trimOWS(value))
	}
}

// Read reads the body.
func (b *Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, http.ErrBodyReadAfterClose
	}
	if len(p) == 0 {
		return 0, nil
	}
	buf, err := b.next()
	if err != nil {
		return 0, err
	}
	n := copy(p, buf)
	b.consume(n)
	return n, nil
}

// WriteTo copies the rest of the body to w straight from the connection's
// read buffer (no copy buffer). A write error is returned as is; a read
// error ends the copy too, so callers that must tell them apart wrap w.
func (b *Body) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if b.done {
			return total, http.ErrBodyReadAfterClose
		}
		buf, err := b.next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, werr := w.Write(buf)
		b.consume(n)
		total += int64(n)
		if werr != nil {
			return total, werr
		}
	}
}

// EOF reports whether the body was read to its end.
func (b *Body) EOF() bool { return b.eof && b.err == nil }

// CloseConn ends the body and closes its connection whatever was read:
// for a connection whose deadline or state the caller no longer trusts. It
// is idempotent, as Close is.
func (b *Body) CloseConn() error {
	if b.done {
		return nil
	}
	b.reuse = false
	return b.Close()
}

// Close ends the body: a body read to the end hands its connection back to
// the pool, any other closes it. It is idempotent.
func (b *Body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	if b.eof && b.err == nil && b.reuse {
		b.h.Put(b.pc)
	} else {
		b.pc.c.Close()
	}
	b.pc, b.br = nil, nil
	return nil
}

var _ io.ReadCloser = (*Body)(nil)
var _ io.WriterTo = (*Body)(nil)
