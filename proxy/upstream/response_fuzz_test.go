package upstream_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/proxylab/proxylab/proxy/upstream"
)

// FuzzResponseHead checks the hand-written parser against net/http's: a head
// it accepts, net/http accepts too, with the same status and the same body
// framing, so the proxy never frames a response differently from what
// net/http (and so the previous httputil path) would have.
func FuzzResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nrest",
		"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200\nContent-Length: 1\n\nx",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		var rh upstream.ResponseHead
		h := http.Header{}
		if err := rh.Read(bufio.NewReader(strings.NewReader(raw)), method, h, upstream.ReadOptions{}); err != nil {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("accepted a head net/http refuses (%v): %q", err, raw)
		}
		defer resp.Body.Close()
		if resp.StatusCode != rh.StatusCode {
			t.Fatalf("status %d, net/http %d: %q", rh.StatusCode, resp.StatusCode, raw)
		}
		if head || rh.StatusCode < 200 || rh.StatusCode == 204 || rh.StatusCode == 304 {
			if rh.ContentLength != 0 || rh.Chunked {
				t.Fatalf("a body framed for a bodiless response: %q", raw)
			}
			if n, _ := io.Copy(io.Discard, resp.Body); n != 0 {
				t.Fatalf("net/http read %d body bytes of a bodiless response: %q", n, raw)
			}
			return
		}
		goChunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
		if rh.Chunked != goChunked {
			t.Fatalf("chunked %v, net/http %v: %q", rh.Chunked, goChunked, raw)
		}
		if !rh.Chunked && rh.ContentLength >= 0 && resp.Body != http.NoBody {
			n, _ := io.Copy(io.Discard, resp.Body)
			if n > rh.ContentLength {
				t.Fatalf("length %d, net/http read %d body bytes: %q", rh.ContentLength, n, raw)
			}
		}
		if rh.ContentLength < 0 && !rh.Chunked && !rh.Close {
			t.Fatalf("a body delimited by the close on a reusable connection: %q", raw)
		}
	})
}
