package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// chunkedConn serves in as reads of the sizes cuts gives, to exercise every
// split of a header block, chunk line or body across reads.
type chunkedConn struct {
	net.Conn
	in   []byte
	cuts []byte
}

func (c *chunkedConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := len(c.in)
	if len(c.cuts) > 0 {
		n = int(c.cuts[0])%64 + 1
		c.cuts = c.cuts[1:]
	}
	n = min(n, len(c.in), len(p))
	copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

func (c *chunkedConn) SetReadDeadline(time.Time) error { return nil }

// FuzzFramingConn checks that the framing check never rewrites what it lets
// through: net/http gets the input unchanged, or the input up to the start
// of a refused header block followed by the refusal, or a prefix of the
// input and then ErrFraming. It must never panic, whatever the bytes and
// however they are split across reads.
func FuzzFramingConn(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b\"\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost:\r\n h\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nanything\r\n at all",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s), []byte{3, 17, 1, 60, 5})
	}
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		c := &framingConn{Conn: &chunkedConn{in: append([]byte(nil), in...), cuts: cuts}, maxHeader: 1 << 10}
		var out bytes.Buffer
		buf := make([]byte, 7)
		var err error
		for i := 0; i < 1<<16; i++ {
			var n int
			n, err = c.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got := out.Bytes()
		switch {
		case errors.Is(err, ErrFraming):
			if !bytes.HasPrefix(in, got) {
				t.Fatalf("before ErrFraming net/http got bytes the input does not start with:\n in %q\nout %q", in, got)
			}
		case bytes.HasSuffix(got, []byte(refusedBlock)):
			kept := got[:len(got)-len(refusedBlock)]
			if !bytes.HasPrefix(in, kept) {
				t.Fatalf("before the refusal net/http got bytes the input does not start with:\n in %q\nout %q", in, got)
			}
		case err != io.EOF:
			t.Fatalf("read ended with %v", err)
		case !bytes.Equal(got, in):
			t.Fatalf("the check changed what it let through:\n in %q\nout %q", in, got)
		}
	})
}
