package proxy

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// response is the http.ResponseWriter of the own loop. The handler's header
// map is written as it is when the header goes out (no clone at
// WriteHeader); trailer fields announced by then are kept for the end. A
// body written before the handler returns that fits bodyBufferSize gets a
// Content-Length; otherwise HTTP/1.1 is chunked and HTTP/1.0 ends with the
// connection.
type response struct {
	c      *conn
	req    *http.Request
	body   *body // nil without a request body
	ctx    requestContext
	header http.Header

	status      int
	wroteHeader bool // WriteHeader called (or implied)
	headerSent  bool // the header is in the connection's writer
	handlerDone bool
	hijacked    bool
	fullDuplex  bool
	closeAfter  bool
	chunking    bool
	head        bool

	num      [20]byte // digits of a length
	buf      *[]byte  // pooled: body held until the header goes out
	written  int64    // body bytes written by the handler
	clen     int64    // declared or computed Content-Length, or -1
	trailers []string

	wantsClose  bool
	wants10Keep bool
	continueMu  sync.Mutex
	canContinue atomic.Bool
}

// newResponse makes the response to head, and the request the handler gets:
// head with the request's context.
func newResponse(c *conn, head *http.Request) *response {
	w := &response{c: c, header: make(http.Header), clen: -1, head: head.Method == http.MethodHead}
	w.ctx.parent = c.ctx
	req := head.WithContext(&w.ctx)
	w.req = req
	w.wantsClose = req.Close || hasToken(field(req.Header, "Connection"), "close")
	w.wants10Keep = !req.ProtoAtLeast(1, 1) && hasToken(field(req.Header, "Connection"), "keep-alive")
	return w
}

// endContext cancels the request's context once its handler returned.
func (w *response) endContext() {
	w.ctx.cancel(context.Canceled)
	w.c.running.Store(false)
	w.c.mu.Lock()
	w.c.cancelReq = nil
	w.c.mu.Unlock()
}

// Header returns the header map the handler fills.
func (w *response) Header() http.Header { return w.header }

// WriteHeader sends an informational response at once or records the final
// status.
func (w *response) WriteHeader(code int) {
	if w.hijacked {
		w.c.e.s.logf("http: response.WriteHeader on hijacked connection")
		return
	}
	if w.wroteHeader {
		w.c.e.s.logf("http: superfluous response.WriteHeader call")
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 101 || code > 199 {
		w.disableContinue()
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Not across a 100 Continue the body reader may be writing.
		w.continueMu.Lock()
		defer w.continueMu.Unlock()
		bw := w.writer()
		writeStatusLine(bw, w.req.ProtoAtLeast(1, 1), code)
		writeHeaders(bw, w.header, func(k string) bool { return k == "Content-Length" || k == "Transfer-Encoding" })
		bw.WriteString("\r\n")
		bw.Flush()
		return
	}
	w.wroteHeader = true
	w.status = code
	if cl := field(w.header, "Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err == nil && v >= 0 {
			w.clen = v
		} else {
			w.c.e.s.logf("http: invalid Content-Length of %q", cl)
			w.header.Del("Content-Length")
		}
	}
	for _, v := range w.header["Trailer"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(f))
			}
		}
	}
}

func (w *response) writer() *bufio.Writer {
	if w.c.bw == nil {
		w.c.bw = getWriter(w.c)
	}
	return w.c.bw
}

// Write buffers p until the header goes out, then writes it on.
func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.clen != -1 && w.written > w.clen {
		return 0, http.ErrContentLength
	}
	if !w.headerSent {
		if w.buf == nil {
			w.buf = bodyBufPool.Get().(*[]byte)
		}
		b := *w.buf
		if len(b)+len(p) <= cap(b) {
			*w.buf = append(b, p...)
			return len(p), nil
		}
		w.sendHeader()
	}
	return w.writeBody(p)
}

// WriteString is Write without a conversion for the buffered case.
func (w *response) WriteString(s string) (int, error) {
	if !w.headerSent && w.wroteHeader && bodyAllowed(w.status) && (w.clen == -1 || w.written+int64(len(s)) <= w.clen) {
		if w.buf == nil {
			w.buf = bodyBufPool.Get().(*[]byte)
		}
		if b := *w.buf; len(b)+len(s) <= cap(b) {
			*w.buf = append(b, s...)
			w.written += int64(len(s))
			return len(s), nil
		}
	}
	return w.Write([]byte(s))
}

// writeBody writes p after the header, framed.
func (w *response) writeBody(p []byte) (int, error) {
	if w.head {
		return len(p), nil
	}
	bw := w.writer()
	if w.chunking {
		bw.Write(strconv.AppendInt(w.num[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		_, err := bw.WriteString("\r\n")
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return bw.Write(p)
}

// sendHeader writes the status line, the handler's header and the framing
// headers, then the body held so far.
func (w *response) sendHeader() {
	if w.headerSent {
		return
	}
	w.headerSent = true
	w.disableContinue()
	var held []byte
	if w.buf != nil {
		held = *w.buf
	}
	h := w.header
	code := w.status
	keepAlives := !w.c.e.closing.Load()
	hasTE := field(h, "Transfer-Encoding") != ""
	te := field(h, "Transfer-Encoding")
	trailers := len(w.trailers) > 0
	if !trailers {
		for k := range h {
			if strings.HasPrefix(k, http.TrailerPrefix) {
				trailers = true
				break
			}
		}
	}
	var setCL int64 = -1
	if w.handlerDone && !trailers && !hasTE && bodyAllowed(code) && w.clen == -1 && (!w.head || len(held) > 0) {
		w.clen = int64(len(held))
		setCL = w.clen
	}
	if w.wants10Keep && keepAlives && field(h, "Content-Length") != "" && field(h, "Connection") == "keep-alive" {
		w.closeAfter = false
	}
	hasCL := w.clen != -1
	var setConn string
	if w.wants10Keep && (w.head || hasCL || !bodyAllowed(code)) {
		if _, ok := h["Connection"]; !ok {
			setConn = "keep-alive"
		}
	} else if !w.req.ProtoAtLeast(1, 1) || w.wantsClose {
		w.closeAfter = true
	}
	if field(h, "Connection") == "close" || !keepAlives {
		w.closeAfter = true
	}
	var bodyDone, expect bool
	if w.body != nil {
		bodyDone, expect = w.body.done()
	}
	if expect {
		w.closeAfter = true // the body was never asked for
	}
	if w.body != nil && !w.closeAfter && !w.fullDuplex && !bodyDone {
		if w.handlerDone {
			if !w.body.drainAfter(w.c.cfg.ReadHeaderTimeout) {
				w.closeAfter = true
				setConn = "close"
			}
		} else if !w.body.drain(maxPostHandlerReadBytes) {
			w.closeAfter = true
			setConn = "close"
		}
	}
	exclude := func(k string) bool {
		if strings.HasPrefix(k, http.TrailerPrefix) || slices.Contains(w.trailers, k) {
			return true
		}
		switch k {
		case "Content-Length":
			return w.chunking || !bodyAllowed(code) || (hasCL && hasTE && te != "identity") ||
				(code == http.StatusNotModified)
		case "Transfer-Encoding":
			return true
		case "Content-Type":
			return code == http.StatusNotModified
		case "Connection":
			return setConn == "close" || (w.closeAfter && !isSwitch(code, h) && (!keepAlives || !hasToken(field(h, "Connection"), "close")))
		}
		return false
	}
	var setType string
	if bodyAllowed(code) {
		_, haveType := h["Content-Type"]
		if field(h, "Content-Encoding") == "" && !haveType && !hasTE && len(held) > 0 {
			setType = http.DetectContentType(held)
		}
	}
	if hasCL && hasTE && te != "identity" {
		hasCL = false
		w.clen = -1
		setCL = -1
	}
	var setTE string
	switch {
	case w.head || !bodyAllowed(code) || code == http.StatusNoContent:
	case hasCL:
	case w.req.ProtoAtLeast(1, 1):
		if hasTE && te == "identity" {
			w.closeAfter = true
		} else {
			w.chunking = true
			setTE = "chunked"
		}
	default:
		w.closeAfter = true
	}
	if w.chunking {
		setCL = -1
	}
	if w.closeAfter && setConn != "close" && !isSwitch(code, h) && (!keepAlives || !hasToken(field(h, "Connection"), "close")) {
		setConn = ""
		if w.req.ProtoAtLeast(1, 1) {
			setConn = "close"
		}
	}
	bw := w.writer()
	writeStatusLine(bw, w.req.ProtoAtLeast(1, 1), code)
	writeHeaders(bw, h, exclude)
	if setType != "" {
		bw.WriteString("Content-Type: ")
		bw.WriteString(setType)
		bw.WriteString("\r\n")
	}
	if setConn != "" {
		bw.WriteString("Connection: ")
		bw.WriteString(setConn)
		bw.WriteString("\r\n")
	}
	if setTE != "" {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(httpDate())
		bw.WriteString("\r\n")
	}
	if setCL >= 0 {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(w.num[:0], setCL, 10))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	if len(held) > 0 {
		w.writeBody(held)
	}
	w.putBuf()
}

func (w *response) putBuf() {
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		bodyBufPool.Put(w.buf)
		w.buf = nil
	}
}

// finish ends the response once the handler returned: the header if not
// sent, the last chunk and trailers, the flush; then the rest of the body.
func (w *response) finish() {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.sendHeader()
	bw := w.writer()
	if w.chunking && !w.head {
		bw.WriteString("0\r\n")
		w.writeTrailers(bw)
		bw.WriteString("\r\n")
	}
	bw.Flush()
	// The write deadline stays: the next write sets its own when the one in
	// force would end too soon (connWriter), and a hijack clears it.
	if w.body != nil {
		w.body.Close()
		if !w.closeAfter && !w.body.drainAfter(w.c.cfg.ReadHeaderTimeout) {
			w.closeAfter = true
		}
	}
}

func (w *response) writeTrailers(bw *bufio.Writer) {
	for _, k := range w.trailers {
		for _, v := range w.header[k] {
			writeField(bw, k, v)
		}
	}
	for k, vv := range w.header {
		if t, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vv {
				writeField(bw, t, v)
			}
		}
	}
}

// reuse reports whether the connection may serve another request.
func (w *response) reuse() bool {
	if w.closeAfter || w.c.werr != nil {
		return false
	}
	if !w.head && w.clen != -1 && bodyAllowed(w.status) && w.clen != w.written {
		return false
	}
	if w.body == nil {
		return true
	}
	sawEOF, _ := w.body.done()
	return sawEOF
}

// Flush sends what is buffered.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush reporting a write error (http.ResponseController).
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.sendHeader()
	if err := w.writer().Flush(); err != nil {
		return err
	}
	return w.c.werr
}

// Hijack hands the connection over (http.Hijacker).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.wroteHeader {
		// A header written but not sent goes out first, as net/http.
		w.sendHeader()
		w.writer().Flush()
	}
	w.putBuf()
	rw, brw, err := w.c.hijack()
	if err == nil {
		w.hijacked = true
	}
	return rw, brw, err
}

// SetReadDeadline fixes the read deadline until the request ends; zero
// goes back to the body idle deadline (http.ResponseController).
func (w *response) SetReadDeadline(t time.Time) error {
	if w.hijacked {
		return http.ErrHijacked
	}
	// No lock: a deadline in the past must interrupt a body read blocked
	// in another goroutine.
	w.c.fixedRead.Store(!t.IsZero())
	w.c.handlerRD.Store(true)
	return w.c.rw.SetReadDeadline(t)
}

// SetWriteDeadline fixes the write deadline until the request ends; zero
// goes back to the write idle deadline (http.ResponseController).
func (w *response) SetWriteDeadline(t time.Time) error {
	if w.hijacked {
		return http.ErrHijacked
	}
	w.c.fixedWDL = t
	return w.c.setWriteDeadline(t)
}

// EnableFullDuplex lets the handler read the body while it writes the
// response (http.ResponseController).
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// writeContinue answers "Expect: 100-continue" unless the response started.
func (w *response) writeContinue() {
	w.continueMu.Lock()
	defer w.continueMu.Unlock()
	if !w.canContinue.Load() {
		return
	}
	w.canContinue.Store(false)
	bw := w.writer()
	bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	bw.Flush()
}

func (w *response) disableContinue() {
	if !w.canContinue.Load() {
		return
	}
	w.continueMu.Lock()
	w.canContinue.Store(false)
	w.continueMu.Unlock()
}

func bodyAllowed(code int) bool {
	return (code < 100 || code > 199) && code != http.StatusNoContent && code != http.StatusNotModified
}

func isSwitch(code int, h http.Header) bool {
	return code == http.StatusSwitchingProtocols && hasToken(field(h, "Connection"), "upgrade")
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
)
