package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// verdict says what the loop does with what readRequest read.
type verdict int

const (
	verdictServe   verdict = iota // run the handler
	verdictClose                  // answered (or not) and close
	verdictHandoff                // HTTP/2 prior knowledge: net/http serves it
)

const errorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// readRequest reads the next request's header block, judges its framing
// where it lies in the buffer, parses it there (parseHead, or
// http.ReadRequest for the shapes parseHead leaves) and builds its response.
func (c *conn) readRequest() (*response, verdict) {
	c.phase = phaseHeader
	c.remain = int64(c.cfg.MaxHeaderBytes) + headerSlack
	c.hitLimit = false
	c.fixedWDL = time.Time{}
	c.fixedRead.Store(false)
	c.handlerRD.Store(false)
	c.reqDL, c.respDL = time.Time{}, time.Time{}
	if d := c.cfg.ReadTimeout; d > 0 {
		c.reqDL = time.Now().Add(d)
	}
	if c.lastPOST {
		// RFC 9112 §2.2 tolerance for old clients, as net/http.
		c.lateHeaderDeadline()
		peek, _ := c.br.Peek(4)
		c.br.Discard(leadingCRLF(peek))
	}
	var j judged
	if !c.cfg.LenientFraming || c.e.h2 != nil {
		j = c.judgeHeader()
		if c.cfg.LenientFraming {
			j.checked, j.refused = false, false
		}
	}
	if j.refused {
		c.reply("400 Bad Request")
		return nil, verdictClose
	}
	if j.h2 && c.first && c.e.h2 != nil {
		return nil, verdictHandoff
	}
	var (
		head    *http.Request // the parsed request, without its context
		plain   http.Request  // the request parseHead fills, copied once with its context
		hasBody bool
		ok      bool
	)
	if j.checked && !j.h2 {
		block, _ := c.br.Peek(j.end)
		if hasBody, ok = parseHead(block, &plain); ok {
			c.br.Discard(j.end)
			head = &plain
		}
	}
	if head == nil {
		c.lateHeaderDeadline()
		var err error
		if head, err = http.ReadRequest(c.br); err != nil {
			switch {
			case c.hitLimit:
				c.reply("431 Request Header Fields Too Large")
				c.closeWriteAndWait()
			case strings.HasPrefix(err.Error(), "unsupported transfer encoding"):
				c.writeString("HTTP/1.1 501 Not Implemented" + errorHeaders + "Unsupported transfer encoding")
			case isCommonNetReadError(err):
			default:
				c.reply("400 Bad Request")
			}
			return nil, verdictClose
		}
		hasBody = head.Body != http.NoBody && head.Body != nil
	}
	c.phase = phaseFixed
	c.remain = 0
	c.lastPOST = head.Method == http.MethodPost
	if head.ProtoMajor != 1 && !(head.ProtoMajor == 2 && head.ProtoMinor == 0 && head.Method == "PRI" && head.RequestURI == "*") {
		c.replyStatus(http.StatusHTTPVersionNotSupported, "unsupported protocol version")
		return nil, verdictClose
	}
	if j.checked {
		if head.ProtoAtLeast(1, 1) && j.hosts == 0 && !j.h2 && head.Method != http.MethodConnect {
			c.replyStatus(http.StatusBadRequest, "missing required Host header")
			return nil, verdictClose
		}
		if j.hosts == 1 && j.badHost {
			c.replyStatus(http.StatusBadRequest, "malformed Host header")
			return nil, verdictClose
		}
	} else if head.ProtoAtLeast(1, 1) && head.Host == "" && head.Method != http.MethodConnect {
		c.replyStatus(http.StatusBadRequest, "missing required Host header")
		return nil, verdictClose
	}
	if !ok { // parseHead took only valid names and values
		for k, vv := range head.Header {
			if !httpguts.ValidHeaderFieldName(k) {
				c.replyStatus(http.StatusBadRequest, "invalid header name")
				return nil, verdictClose
			}
			for _, v := range vv {
				if !httpguts.ValidHeaderFieldValue(v) {
					c.replyStatus(http.StatusBadRequest, "invalid header value")
					return nil, verdictClose
				}
			}
		}
	}
	w := newResponse(c, head)
	req := w.req
	req.RemoteAddr = c.remote
	req.TLS = c.tls
	if j.h2 {
		w.closeAfter = true
	}
	if hasBody {
		b := &body{c: c, w: w, chunked: j.fr.state == inChunkLine || req.ContentLength < 0, left: req.ContentLength}
		w.body = b
		req.Body = b
	}
	if c.cfg.WriteTimeout > 0 {
		c.respDL = time.Now().Add(c.cfg.WriteTimeout)
	}
	c.mu.Lock()
	c.cancelReq = &w.ctx
	c.mu.Unlock()
	if expectsContinue(req) {
		if req.ProtoAtLeast(1, 1) && req.ContentLength != 0 && w.body != nil {
			w.body.expect = true
			w.canContinue.Store(true)
		}
	} else if req.Header.Get("Expect") != "" {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusExpectationFailed)
		w.finish()
		return nil, verdictClose
	}
	if w.body == nil {
		c.startBackground()
	} else {
		c.phase = phaseBody
	}
	return w, verdictServe
}

// lateHeaderDeadline sets the header deadline serve left for later
// (hdrLate): the block needs a read that may wait.
func (c *conn) lateHeaderDeadline() {
	if c.hdrLate {
		c.hdrLate = false
		c.setReadDeadline(time.Now().Add(c.cfg.ReadHeaderTimeout))
	}
}

// judged is what judgeHeader found.
type judged struct {
	fr      framing
	checked bool // a complete block was judged; false: ReadRequest meets the same end or limit and fails
	refused bool
	h2      bool // HTTP/2 prior knowledge
	hosts   int  // Host fields
	badHost bool // the one Host field's value is malformed
	end     int  // the block's length in the read buffer
}

// judgeHeader finds the header block in the read buffer (growing it to the
// header limit when a block does not fit) and judges its framing in place.
func (c *conn) judgeHeader() (j judged) {
	scanned := 0
	for {
		n := c.br.Buffered()
		buf, _ := c.br.Peek(n)
		if end := headerEnd(buf, min(max(scanned-3, 0), len(buf))); end >= 0 {
			block := buf[:end]
			if block[0] == '\r' || block[0] == '\n' {
				return j // a leading empty line: ReadRequest refuses it
			}
			var ok bool
			if j.fr, ok = judge(block); !ok {
				j.checked, j.refused = true, true
				return j
			}
			j.checked, j.end = true, end
			j.h2 = bytes.HasPrefix(block, []byte("PRI * HTTP/2.0\r\n"))
			var hb []byte
			j.hosts, hb = hostHeaders(block)
			// Judged here, on the buffer, so that no string is made of it.
			j.badHost = j.hosts == 1 && !httpguts.ValidHostHeader(string(hb))
			return j
		}
		scanned = n
		if n > 0 {
			c.lateHeaderDeadline() // a read that may wait
		}
		if n == c.br.Size() {
			big := c.cfg.MaxHeaderBytes + headerSlack + 1
			if c.br.Size() >= big {
				return j
			}
			held := append([]byte(nil), buf...)
			putReader(c, c.br)
			c.br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(held), c), big)
			if _, err := c.br.Peek(len(held)); err != nil {
				return j
			}
			continue
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			return j
		}
	}
}

// headerEnd returns the index just past the empty line ending the header
// block in b, looking from from, or -1.
func headerEnd(b []byte, from int) int {
	end := -1
	if i := bytes.Index(b[from:], []byte("\n\r\n")); i >= 0 {
		end = from + i + 3
	}
	if i := bytes.Index(b[from:], []byte("\n\n")); i >= 0 && (end < 0 || from+i+2 < end) {
		end = from + i + 2
	}
	return end
}

// hostHeaders counts the Host fields of a header block and returns the
// first one's value.
func hostHeaders(block []byte) (n int, first []byte) {
	_, rest := nextLine(block)
	for len(rest) > 0 {
		var l []byte
		l, rest = nextLine(rest)
		name, value, ok := bytes.Cut(l, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Host")) {
			if n == 0 {
				first = bytes.Trim(value, " \t")
			}
			n++
		}
	}
	return n, first
}

func leadingCRLF(b []byte) int {
	n := 0
	for _, c := range b {
		if c != '\r' && c != '\n' {
			break
		}
		n++
	}
	return n
}

func expectsContinue(r *http.Request) bool {
	v := r.Header["Expect"]
	return len(v) == 1 && strings.EqualFold(strings.TrimSpace(v[0]), "100-continue")
}

func isCommonNetReadError(err error) bool {
	if err == io.EOF {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read"
}

// reply writes a plain error response as net/http does before closing.
func (c *conn) reply(status string) {
	c.writeString("HTTP/1.1 " + status + errorHeaders + status)
}

func (c *conn) replyStatus(code int, text string) {
	s := http.StatusText(code)
	c.writeString("HTTP/1.1 " + strconv.Itoa(code) + " " + s + ": " + text + errorHeaders + strconv.Itoa(code) + " " + s + ": " + text)
}

func (c *conn) writeString(s string) {
	if c.bw == nil {
		c.bw = getWriter(c)
	}
	c.bw.WriteString(s)
	c.bw.Flush()
}
