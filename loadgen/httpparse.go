package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// errProtocol marks a malformed response.
var errProtocol = errors.New("malformed http response")

// responseReader is the minimal HTTP/1.x response parser of HTTPDoer: the
// status line, the framing headers (Content-Length, Transfer-Encoding,
// Connection) and one chosen header, then the body is read and discarded with
// the right framing. It allocates nothing, unless the chosen header has a
// value other than lastServer (the connection's last one, reused).
type responseReader struct {
	br         *bufio.Reader
	head       bool   // the request was HEAD: no body whatever the headers say
	serverHdr  []byte // name of the header to capture; nil none
	lastServer string // its value in the connection's previous response

	status    int
	server    string
	bodyBytes int64
	keepAlive bool
}

var (
	hdrContentLength    = []byte("Content-Length")
	hdrTransferEncoding = []byte("Transfer-Encoding")
	hdrConnection       = []byte("Connection")
)

// read parses one response, skipping 1xx interim responses.
func (r *responseReader) read() error {
	for {
		if err := r.readHead(); err != nil {
			return err
		}
		if r.status >= 200 || r.status == 101 {
			return nil
		}
	}
}

func (r *responseReader) readHead() error {
	line, err := r.line()
	if err != nil {
		return err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return fmt.Errorf("%w: status line %q", errProtocol, truncate(line))
	}
	minor1 := line[7] == '1'
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: status line %q", errProtocol, truncate(line))
		}
		code = code*10 + int(c-'0')
	}
	r.status = code
	r.keepAlive = minor1
	contentLength := int64(-1)
	chunked := false
	for {
		line, err := r.line()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fmt.Errorf("%w: header line %q", errProtocol, truncate(line))
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		if !r.wanted(name) {
			continue
		}
		switch {
		case bytes.EqualFold(name, hdrContentLength):
			n, ok := parseUint(value)
			if !ok || (contentLength >= 0 && n != contentLength) {
				return fmt.Errorf("%w: Content-Length %q", errProtocol, truncate(value))
			}
			contentLength = n
		case bytes.EqualFold(name, hdrTransferEncoding):
			chunked = hasToken(value, "chunked")
		case bytes.EqualFold(name, hdrConnection):
			if hasToken(value, "close") {
				r.keepAlive = false
			} else if hasToken(value, "keep-alive") {
				r.keepAlive = true
			}
		case r.serverHdr != nil && bytes.EqualFold(name, r.serverHdr):
			r.server = r.lastServer
			if string(value) != r.lastServer {
				r.server = string(value)
			}
		}
	}
	if r.status < 200 || r.status == 204 || r.status == 304 || r.head {
		return nil
	}
	switch {
	case chunked:
		return r.readChunked()
	case contentLength >= 0:
		n, err := discardN(r.br, contentLength)
		r.bodyBytes += n
		return err
	default:
		// No framing: the body runs to the end of the connection.
		r.keepAlive = false
		n, err := io.Copy(io.Discard, r.br)
		r.bodyBytes += n
		return err
	}
}

// wanted reports whether a header of that name may be one the parser reads:
// a cheap length check that spares most headers (Date, Server, Content-Type…)
// their name comparisons.
func (r *responseReader) wanted(name []byte) bool {
	switch len(name) {
	case len(hdrContentLength), len(hdrTransferEncoding), len(hdrConnection), len(r.serverHdr):
		return true
	}
	return false
}

// readChunked discards a chunked body and its trailers.
func (r *responseReader) readChunked() error {
	for {
		line, err := r.line()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, ok := parseHex(bytes.TrimSpace(line))
		if !ok {
			return fmt.Errorf("%w: chunk size %q", errProtocol, truncate(line))
		}
		if size == 0 {
			for { // trailers up to the empty line
				t, err := r.line()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		n, err := discardN(r.br, size)
		r.bodyBytes += n
		if err != nil {
			return err
		}
		crlf, err := r.line()
		if err != nil {
			return err
		}
		if len(crlf) != 0 {
			return fmt.Errorf("%w: no CRLF after chunk", errProtocol)
		}
	}
}

// line reads one line without its CRLF (or LF). The slice is valid until the
// next read.
func (r *responseReader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: line longer than %d bytes", errProtocol, r.br.Size())
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func parseUint(b []byte) (int64, bool) {
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

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// hasToken reports whether the comma-separated header value has tok.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		part := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(tok)) {
			return true
		}
	}
	return false
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}
