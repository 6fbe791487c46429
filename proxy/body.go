package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"
	"time"
)

// errBodyAfterClose is what reading a body closed by its handler returns.
var errBodyAfterClose = errors.New("http: invalid Read on closed Body")

// body is a request body read straight from the connection's buffer:
// Content-Length bytes, or chunks whose size lines are held to RFC 9112
// §7.1 (chunkext.go). The first read answers "Expect: 100-continue"; every
// read from the socket gets the body idle deadline (conn.Read). Reads are
// locked: a transport may read while the server drains.
type body struct {
	c       *conn
	w       *response
	mu      sync.Mutex
	chunked bool
	expect  bool  // 100-continue still owed on the first read
	left    int64 // bytes left in the body (Content-Length) or the chunk
	inChunk bool  // chunked: between a size line and the chunk's CRLF
	sawEOF  bool
	closed  bool
	err     error // sticky
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyAfterClose
	}
	return b.readLocked(p)
}

func (b *body) readLocked(p []byte) (int, error) {
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.expect {
		b.expect = false
		b.w.writeContinue()
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.readChunked(p)
	} else {
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err = b.c.br.Read(p)
		b.left -= int64(n)
		if b.left == 0 {
			err = io.EOF
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == io.EOF {
		b.sawEOF = true
		b.c.endBody()
	} else if err != nil {
		b.err = err
		b.w.closeAfter = true
	}
	return n, err
}

// readChunked returns data of the current chunk, reading size lines and
// CRLFs as needed; the last chunk and trailers end with io.EOF.
func (b *body) readChunked(p []byte) (int, error) {
	br := b.c.br
	for !b.inChunk {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			} else if err == bufio.ErrBufferFull {
				err = ErrFraming
			}
			return 0, err
		}
		if len(line) > maxChunkLine {
			return 0, ErrFraming
		}
		var size int64
		var ok bool
		if b.c.cfg.LenientFraming {
			size, ok = lenientChunkSize(line)
		} else {
			size, ok = chunkSize(line)
		}
		if !ok {
			return 0, ErrFraming
		}
		if size == 0 {
			return 0, b.readTrailer()
		}
		b.left, b.inChunk = size, true
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	if err != nil || b.left > 0 {
		return n, err
	}
	// The chunk is done: its CRLF, and the last chunk when it is buffered,
	// are read now so that the end is seen with the data.
	if err := b.chunkEnd(); err != nil {
		return n, err
	}
	if br.Buffered() >= 5 {
		if peek, _ := br.Peek(5); string(peek) == "0\r\n\r\n" {
			br.Discard(5)
			return n, io.EOF
		}
	}
	return n, nil
}

func (b *body) chunkEnd() error {
	br := b.c.br
	b.inChunk = false
	cr, err := br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	lf, err := br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	if cr != '\r' || lf != '\n' {
		return ErrFraming
	}
	return nil
}

// readTrailer reads the trailer section after the last chunk into the
// request's Trailer.
func (b *body) readTrailer() error {
	br := b.c.br
	if peek, err := br.Peek(2); err == nil && string(peek) == "\r\n" {
		br.Discard(2)
		return io.EOF
	}
	b.c.phase, b.c.remain = phaseHeader, int64(b.c.cfg.MaxHeaderBytes)
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	b.c.phase = phaseBody
	if err != nil {
		return unexpected(err)
	}
	req := b.w.req
	for k, vv := range hdr {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if req.Trailer == nil {
			req.Trailer = make(http.Header)
		}
		req.Trailer[k] = vv
	}
	return io.EOF
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Close stops the handler's reads; the server drains or closes after.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// drain reads what is left of the body, up to limit bytes, and reports
// whether it reached the end.
func (b *body) drain(limit int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.drainLocked(limit)
}

func (b *body) drainLocked(limit int64) bool {
	if b.sawEOF {
		return true
	}
	if b.err != nil || b.expect { // a 100-continue never sent: the client holds the body back
		return false
	}
	b.expect = false
	var buf [512]byte
	for limit > 0 {
		n, err := b.readLocked(buf[:min(int64(len(buf)), limit)])
		limit -= int64(n)
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// done reports whether the body was read to its end, and whether its
// 100-continue is still owed.
func (b *body) done() (sawEOF, expect bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sawEOF, b.expect
}

// endBody is called when a body reaches its end: the background read may
// start watching the client.
func (c *conn) endBody() {
	c.phase = phaseFixed
	if !c.handlerRunning() {
		return
	}
	c.startBackground()
}

func (c *conn) handlerRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelReq != nil
}

// drainAfter drains the rest of a body once the handler is done, under the
// header deadline at most (a refused request's body must not hold the
// connection), and reports whether the connection can be kept.
func (b *body) drainAfter(d time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sawEOF {
		return true
	}
	if d > 0 {
		b.c.phase = phaseFixed
		b.c.setReadDeadline(time.Now().Add(d))
	}
	return b.drainLocked(maxPostHandlerReadBytes)
}

// lenientChunkSize reads a chunk-size line as net/http does: hex digits,
// anything after ';' skipped.
func lenientChunkSize(line []byte) (int64, bool) {
	line = bytes.TrimRight(line, "\r\n")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	n, err := strconv.ParseUint(string(line), 16, 63)
	return int64(n), err == nil && len(line) > 0
}

var _ io.ReadCloser = (*body)(nil)
