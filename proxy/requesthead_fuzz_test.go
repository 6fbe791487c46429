package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

// headSeeds are header blocks of the shapes parseHead takes and of the ones
// it leaves to net/http.
var headSeeds = []string{
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a/b.c?x=1&y=%20 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
	"GET http://example.test/p?q HTTP/1.1\r\nHost: other\r\nProxy-Connection: keep-alive\r\n\r\n",
	"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\n",
	"POST / HTTP/1.0\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.1\r\nhost: h\r\nx-lower-case: v\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n",
	"GET /%7e/a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a#f HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET //x/y HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\nMax-Forwards: 3\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX:  \t padded \t \r\nEmpty:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nObs: caf\xc3\xa9\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	"GET / HTTP/1.1\nHost: h\n\n",
	"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
	"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\n Folded: v\r\n\r\n",
	"G@T / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
}

// FuzzRequestHead is the differential check of the own request-head parser:
// whatever block it accepts, net/http.ReadRequest must accept too and
// return the same request.
func FuzzRequestHead(f *testing.F) {
	for _, s := range headSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		end := headerEnd(in, 0)
		if end < 0 {
			return
		}
		block := in[:end]
		var got http.Request
		hasBody, ok := parseHead(block, &got)
		if !ok {
			return
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(block)))
		if err != nil {
			t.Fatalf("parseHead took %q, ReadRequest refuses it: %v", block, err)
		}
		if diff := sameRequest(&got, want, hasBody); diff != "" {
			t.Fatalf("parseHead and ReadRequest differ on %q: %s", block, diff)
		}
	})
}

// sameRequest names the first field in which got (from parseHead) differs
// from want (from ReadRequest), or returns "".
func sameRequest(got, want *http.Request, hasBody bool) string {
	switch {
	case got.Method != want.Method:
		return "Method " + got.Method + " / " + want.Method
	case !reflect.DeepEqual(got.URL, want.URL):
		return "URL " + got.URL.String() + " / " + want.URL.String()
	case got.Proto != want.Proto || got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor:
		return "Proto " + got.Proto + " / " + want.Proto
	case !reflect.DeepEqual(got.Header, want.Header):
		return fmt.Sprintf("Header %q / %q", got.Header, want.Header)
	case got.Host != want.Host:
		return "Host " + got.Host + " / " + want.Host
	case got.RequestURI != want.RequestURI:
		return "RequestURI"
	case got.ContentLength != want.ContentLength:
		return "ContentLength"
	case got.Close != want.Close:
		return "Close"
	case got.TransferEncoding != nil || want.TransferEncoding != nil:
		return "TransferEncoding"
	case got.Trailer != nil || want.Trailer != nil:
		return "Trailer"
	case hasBody != (want.Body != http.NoBody):
		return "body"
	}
	return ""
}
