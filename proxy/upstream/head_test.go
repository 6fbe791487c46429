package upstream_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/upstream"
)

func writeHead(rh *upstream.RequestHead) (string, error) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	err := rh.Write(bw)
	bw.Flush()
	return buf.String(), err
}

var _ = Describe("RequestHead", func() {
	It("should write the request line, Host, the fields and the length", func() {
		s, err := writeHead(&upstream.RequestHead{Method: "POST", Target: "/a?b=1", Host: "example.test",
			Header: http.Header{"Accept": {"*/*"}}, ContentLength: 5})
		Expect(err).NotTo(HaveOccurred())
		Expect(s).To(Equal("POST /a?b=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\nContent-Length: 5\r\n\r\n"))
	})

	It("should leave out hop-by-hop fields, the names Connection lists and replaced fields", func() {
		s, err := writeHead(&upstream.RequestHead{Method: "GET", Target: "/", Host: "h",
			Header: http.Header{
				"Connection": {"X-Private, close"}, "X-Private": {"p"}, "Keep-Alive": {"1"}, "Upgrade": {"x"},
				"Proxy-Authorization": {"secret"}, "Te": {"trailers, gzip"}, "Transfer-Encoding": {"chunked"},
				"Via": {"1.0 old"}, "X-Kept": {"k"}, "Bad Name": {"v"},
			},
			Replace: []upstream.Field{{Name: "Via", Value: "1.0 old, 1.1 me"}}})
		Expect(err).NotTo(HaveOccurred())
		Expect(s).To(HavePrefix("GET / HTTP/1.1\r\nHost: h\r\n"))
		lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")[2:]
		Expect(lines).To(ConsistOf("X-Kept: k", "Te: trailers", "Via: 1.0 old, 1.1 me"))
	})

	It("should write a field given in pieces as one value", func() {
		s, _ := writeHead(&upstream.RequestHead{Method: "GET", Target: "/", Host: "h",
			Replace: []upstream.Field{{Name: "Forwarded", Value: "for=", More: []string{"1.2.3.4", ";proto=", "http"}}}})
		Expect(s).To(ContainSubstring("\r\nForwarded: for=1.2.3.4;proto=http\r\n"))
	})

	It("should replace CR and LF in values by spaces", func() {
		s, _ := writeHead(&upstream.RequestHead{Method: "GET", Target: "/", Host: "h",
			Header: http.Header{"X-A": {"a\r\nX-Injected: 1"}}})
		Expect(s).To(ContainSubstring("X-A: a  X-Injected: 1\r\n"))
	})

	DescribeTable("should send Content-Length as net/http does",
		func(method string, length int64, want string) {
			s, _ := writeHead(&upstream.RequestHead{Method: method, Target: "/", Host: "h", ContentLength: length})
			Expect(s).To(Equal(method + " / HTTP/1.1\r\nHost: h\r\n" + want + "\r\n"))
		},
		// A bodiless GET says nothing about a body.
		Entry("GET without body", "GET", int64(0), ""),
		// Servers expect a length for POST, PUT, PATCH even when empty.
		Entry("empty POST", "POST", int64(0), "Content-Length: 0\r\n"),
		// An unknown length goes chunked.
		Entry("unknown length", "PUT", int64(-1), "Transfer-Encoding: chunked\r\n"),
	)

	It("should refuse an invalid Host", func() {
		_, err := writeHead(&upstream.RequestHead{Method: "GET", Target: "/", Host: "a b"})
		Expect(err).To(MatchError(upstream.ErrInvalidHost))
	})
})
