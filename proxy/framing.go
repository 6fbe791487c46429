package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
)

// The framing check sits between a plain listener and net/http. net/http
// parses requests before a handler sees them and hides what a proxy must
// refuse: with both Content-Length and Transfer-Encoding it drops
// Content-Length and keeps the connection open (RFC 9112 §6.1 says close),
// it unfolds obs-fold lines into the value, it honours nothing of chunked
// for HTTP/1.0 and reads the chunks as the next request, and its chunked
// reader skips chunk extensions unparsed. The check reads the same bytes
// first, following each request's framing from one header block to the
// next:
//
//	conn ──▶ header block (held until complete) ──▶ refused? ──▶ net/http
//	              │ ok                                 │ yes: a block net/http
//	              ▼                                    │ answers 400 and closes
//	         body: Content-Length bytes, or chunk lines checked one by one
//	              │ (a bad chunk line ends the body with ErrFraming)
//	              ▼
//	         next header block … until CONNECT, an upgrade or HTTP/2:
//	         from there on the bytes are not HTTP/1.1 and pass untouched
//
// Whatever the check cannot follow (a block over the size limit, a
// Transfer-Encoding net/http refuses anyway) it passes on untouched and
// stops checking: net/http refuses it and closes the connection.

// ErrFraming is the error a request body read returns when a chunk line
// breaks the chunked grammar in a way net/http would let through.
var ErrFraming = errors.New("bad chunked framing")

// refusedBlock replaces a header block the check refuses: net/http answers
// it with "400 Bad Request" and closes the connection, in its turn, after
// any response it still owes on the connection.
const refusedBlock = "GET / HTTP/1.1\r\nHost: refused\r\nContent-Length: refused\r\n\r\n"

const (
	maxChunkLine = 4 << 10 // as net/http
	// headerSlack is what net/http reads beyond MaxHeaderBytes before
	// answering 431.
	headerSlack = 4 << 10
)

type framingState int

const (
	inHeader framingState = iota
	inBody
	inChunkLine
	inChunkData
	inChunkEnd
	inTrailer
	passing
	refused
)

// framingListener wraps every accepted connection in a framingConn.
type framingListener struct {
	net.Listener
	maxHeader int
}

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c, maxHeader: l.maxHeader + headerSlack}, nil
}

// framingConn checks the framing of the requests read through it.
type framingConn struct {
	net.Conn
	maxHeader int

	mu    sync.Mutex
	state framingState
	held  []byte // the header block, chunk line or chunk end seen so far
	left  int64  // bytes left in a Content-Length body or a chunk
	out   []byte // checked bytes; out[off:] not yet returned to net/http
	off   int
	err   error // returned once out is drained; ErrFraming stays
	buf   []byte
	tail  []byte // bytes after a header block, still to scan
}

func (c *framingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.off == len(c.out) {
		c.out, c.off = c.out[:0], 0
		if err := c.err; err != nil {
			if err != ErrFraming {
				// A read error (a deadline net/http set to stop a read,
				// a timeout, the end) is returned once, never kept.
				c.err = nil
			}
			return 0, err
		}
		if c.state == passing && len(c.held) == 0 {
			return c.Conn.Read(p)
		}
		if c.buf == nil {
			c.buf = make([]byte, 4<<10)
		}
		n, err := c.Conn.Read(c.buf)
		c.scan(c.buf[:n])
		if err != nil && c.err == nil {
			if err == io.EOF && len(c.held) > 0 {
				// The client is gone mid-block: net/http decides what the
				// incomplete bytes are.
				c.pass()
			}
			c.err = err
		}
	}
	n := copy(p, c.out[c.off:])
	c.off += n
	return n, nil
}

// WriteTo lets a tunnel splice once the connection is past HTTP/1.1.
func (c *framingConn) WriteTo(w io.Writer) (int64, error) {
	c.mu.Lock()
	direct := c.state == passing && len(c.held) == 0 && c.off == len(c.out) && c.err == nil
	c.mu.Unlock()
	if direct {
		if wt, ok := c.Conn.(io.WriterTo); ok {
			return wt.WriteTo(w)
		}
	}
	return io.Copy(w, struct{ io.Reader }{c})
}

// ReadFrom keeps sendfile and splice for writes.
func (c *framingConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite half-closes when the inner connection can.
func (c *framingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// scan follows b through the framing states, appending what may go on to
// c.out.
func (c *framingConn) scan(b []byte) {
	for len(b) > 0 {
		switch c.state {
		case passing:
			c.out = append(c.out, b...)
			return
		case refused:
			return // the substitute block was handed on; the rest is dropped
		case inHeader:
			b = c.scanHeader(b)
		case inBody, inChunkData:
			n := int64(len(b))
			if n > c.left {
				n = c.left
			}
			c.out = append(c.out, b[:n]...)
			b = b[n:]
			c.left -= n
			if c.left == 0 {
				if c.state == inBody {
					c.state = inHeader
				} else {
					c.state = inChunkEnd
				}
			}
		case inChunkLine, inChunkEnd, inTrailer:
			b = c.scanLine(b)
		}
	}
}

// scanHeader holds bytes until the header block ends, then judges it.
func (c *framingConn) scanHeader(b []byte) []byte {
	start := len(c.held)
	c.held = append(c.held, b...)
	// Look for the end from a little before the new bytes.
	end := headerEnd(c.held, max(start-3, 0))
	if end < 0 {
		if len(c.held) > c.maxHeader {
			c.pass() // net/http answers 431
		}
		return nil
	}
	if len(c.held) > 0 && (c.held[0] == '\r' || c.held[0] == '\n') {
		c.pass() // a leading empty line: net/http's business
		return nil
	}
	rest := c.held[end:]
	block := c.held[:end]
	next, ok := judge(block)
	if !ok {
		c.out = append(c.out, refusedBlock...)
		c.held = c.held[:0]
		c.state = refused
		return nil
	}
	c.out = append(c.out, block...)
	// rest lives in held, which the next block reuses: keep it aside.
	c.tail = append(c.tail[:0], rest...)
	tail := c.tail
	c.held = c.held[:0]
	c.state = next.state
	c.left = next.length
	if c.state == inBody && c.left == 0 {
		c.state = inHeader
	}
	return tail
}

// scanLine holds a chunk-size line, the CRLF after chunk data, or a trailer
// line until it ends, and checks it.
func (c *framingConn) scanLine(b []byte) []byte {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		c.held = append(c.held, b...)
		if len(c.held) > maxChunkLine {
			c.pass()
		}
		return nil
	}
	c.held = append(c.held, b[:i+1]...)
	line := c.held
	switch c.state {
	case inChunkEnd:
		if string(line) != "\r\n" {
			c.fail()
			return nil
		}
		c.state = inChunkLine
	case inChunkLine:
		size, ok := chunkSize(line)
		if !ok {
			c.fail()
			return nil
		}
		if size == 0 {
			c.state = inTrailer
		} else {
			c.state, c.left = inChunkData, size
		}
	case inTrailer:
		if string(line) == "\r\n" || string(line) == "\n" {
			c.state = inHeader
		}
	}
	c.out = append(c.out, line...)
	c.held = c.held[:0]
	return b[i+1:]
}

// pass hands on what is held and stops checking.
func (c *framingConn) pass() {
	c.out = append(c.out, c.held...)
	c.held = c.held[:0]
	c.state = passing
}

// fail ends the body: net/http's body reader gets ErrFraming after the
// bytes already checked.
func (c *framingConn) fail() {
	c.held = c.held[:0]
	c.state = refused
	c.err = ErrFraming
}

// framing is what follows a header block.
type framing struct {
	state  framingState
	length int64
}

// judge checks a complete header block and says what follows it; false
// means refuse the request. It reads the block in place: no allocation on
// the way of every request.
func judge(block []byte) (framing, bool) {
	reqLine, rest := nextLine(block)
	method, target, _ := bytes.Cut(reqLine, []byte(" "))
	if string(method) == "PRI" && bytes.HasPrefix(target, []byte("* HTTP/2.0")) {
		return framing{state: passing}, true // HTTP/2 prior knowledge
	}
	http10 := bytes.HasSuffix(reqLine, []byte(" HTTP/1.0"))
	var (
		nCL, nTE         int
		cl, te           []byte // the first of each
		upgrade, connUpg bool
	)
	for len(rest) > 0 {
		var l []byte
		l, rest = nextLine(rest)
		if len(l) == 0 {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			return framing{}, false // obs-fold (RFC 9112 §5.2 lets a server refuse it)
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue // net/http refuses it
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if nCL == 0 {
				cl = value
			}
			nCL++
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if nTE == 0 {
				te = value
			}
			nTE++
		case bytes.EqualFold(name, []byte("Upgrade")):
			upgrade = upgrade || !onlyH2C(string(value))
		case bytes.EqualFold(name, []byte("Connection")):
			connUpg = connUpg || hasToken(string(value), "upgrade")
		}
	}
	if nTE > 0 && (nCL > 0 || http10) {
		return framing{}, false // RFC 9112 §6.1, §6.3: faulty framing, close
	}
	if string(method) == "CONNECT" || (upgrade && connUpg) {
		return framing{state: passing}, true
	}
	if nTE > 0 {
		if nTE == 1 && bytes.EqualFold(te, []byte("chunked")) {
			return framing{state: inChunkLine}, true
		}
		return framing{state: passing}, true // net/http answers 501
	}
	if nCL > 0 {
		n, ok := decimal(cl)
		if !ok {
			return framing{state: passing}, true // net/http answers 400
		}
		return framing{state: inBody, length: n}, true
	}
	return framing{state: inHeader}, true
}

// nextLine splits b after its first line, returning the line without its
// CRLF or LF.
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimSuffix(b, []byte("\r")), nil
	}
	return bytes.TrimSuffix(b[:i], []byte("\r")), b[i+1:]
}

// decimal parses a Content-Length: digits only, no sign, no overflow.
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func onlyH2C(v string) bool {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "h2c") {
			return false
		}
	}
	return true
}

func hasToken(v, token string) bool {
	for p := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(p), token) {
			return true
		}
	}
	return false
}

// Unframed returns the connection under the framing check once the check
// has nothing left to hand on (the connection is past CONNECT or an upgrade
// and every byte read was passed on), so that a tunnel can splice between
// raw sockets; otherwise it returns c itself.
func Unframed(c net.Conn) net.Conn {
	fc, ok := c.(*framingConn)
	if !ok {
		return c
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.state == passing && len(fc.held) == 0 && fc.off == len(fc.out) && fc.err == nil {
		return fc.Conn
	}
	return c
}
