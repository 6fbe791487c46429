package proxy_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
)

var _ = Describe("the request-head parser", func() {
	DescribeTable("parses the plain shapes as net/http.ReadRequest does",
		func(block string) {
			taken, diff, err := proxy.ParseHead([]byte(block))
			Expect(taken).To(BeTrue(), "the parser left a plain block to ReadRequest")
			Expect(err).NotTo(HaveOccurred())
			Expect(diff).To(BeEmpty())
		},
		Entry("origin form", "GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
		Entry("a path, a query and curl's fields", "GET /a/b.c?x=1&y=%20 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"),
		Entry("absolute form: the target's host wins", "GET http://example.test/p?q HTTP/1.1\r\nHost: other\r\nProxy-Connection: keep-alive\r\n\r\n"),
		Entry("a body of known length", "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n"),
		Entry("HTTP/1.0 with keep-alive", "POST / HTTP/1.0\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"),
		Entry("HTTP/1.0 without: close", "GET / HTTP/1.0\r\n\r\n"),
		Entry("lower-case and repeated names", "GET / HTTP/1.1\r\nhost: h\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"),
		Entry("Connection: close among tokens", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n"),
		Entry("escapes in the path", "GET /%7e/a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n"),
		Entry("padded and empty values", "GET / HTTP/1.1\r\nHost: h\r\nX:  \t padded \t \r\nEmpty:\r\n\r\n"),
		Entry("obs-text in a value", "GET / HTTP/1.1\r\nHost: h\r\nObs: caf\xc3\xa9\r\n\r\n"),
		Entry("a double slash", "GET //x/y HTTP/1.1\r\nHost: h\r\n\r\n"),
		Entry("asterisk form", "OPTIONS * HTTP/1.1\r\nHost: h\r\nMax-Forwards: 3\r\n\r\n"),
	)

	DescribeTable("leaves every other shape to net/http.ReadRequest",
		func(block string) {
			taken, _, _ := proxy.ParseHead([]byte(block))
			Expect(taken).To(BeFalse())
		},
		Entry("CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"),
		Entry("chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
		Entry("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
		Entry("two Content-Length fields", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
		Entry("a signed Content-Length", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n"),
		Entry("Pragma (net/http adds Cache-Control)", "GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n"),
		Entry("bare LF line ends", "GET / HTTP/1.1\nHost: h\n\n"),
		Entry("a bare LF inside", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n"),
		Entry("a space in a name", "GET / HTTP/1.1\r\nBad Name: v\r\n\r\n"),
		Entry("a CR in a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"),
		Entry("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"),
		Entry("a method that is no token", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n"),
		Entry("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n"),
		Entry("a trailing space on the request line", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n"),
		Entry("two spaces after the method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
	)
})
