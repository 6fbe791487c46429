package upstream_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/upstream"
)

func readHead(raw, method string, drop bool) (*upstream.ResponseHead, *bufio.Reader, error) {
	br := bufio.NewReader(strings.NewReader(raw))
	var rh upstream.ResponseHead
	err := rh.Read(br, method, http.Header{}, upstream.ReadOptions{DropHopByHop: drop})
	return &rh, br, err
}

var _ = Describe("ResponseHead", func() {
	It("should parse the status line and fields into the given header", func() {
		rh, br, err := readHead("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 3\r\n\r\nabc", "GET", false)
		Expect(err).NotTo(HaveOccurred())
		Expect(rh.StatusCode).To(Equal(201))
		Expect(rh.Reason).To(Equal("Created"))
		Expect(rh.Header).To(Equal(http.Header{"Content-Type": {"text/plain"}, "X-A": {"1", "2"}, "Content-Length": {"3"}}))
		Expect(rh.ContentLength).To(BeEquivalentTo(3))
		Expect(rh.Close).To(BeFalse())
		rest, _ := io.ReadAll(br)
		Expect(string(rest)).To(Equal("abc"), "the head is consumed, the body is not")
	})

	It("should leave hop-by-hop fields and the names Connection lists out when asked", func() {
		rh, _, err := readHead("HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nKeep-Alive: timeout=5\r\nX-Secret: s\r\nUpgrade: foo\r\nX-Kept: k\r\nContent-Length: 0\r\n\r\n", "GET", true)
		Expect(err).NotTo(HaveOccurred())
		Expect(rh.Header).To(Equal(http.Header{"X-Kept": {"k"}, "Content-Length": {"0"}}))
	})

	It("should fold obs-fold continuation lines into one value", func() {
		rh, _, err := readHead("HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n", "GET", false)
		Expect(err).NotTo(HaveOccurred())
		Expect(rh.Header.Get("X-Long")).To(Equal("a b"))
	})

	DescribeTable("should frame the body as RFC 9112 §6.3 says",
		func(raw, method string, length int64, chunked, closeAfter bool) {
			rh, _, err := readHead(raw, method, false)
			Expect(err).NotTo(HaveOccurred())
			Expect(rh.ContentLength).To(Equal(length))
			Expect(rh.Chunked).To(Equal(chunked))
			Expect(rh.Close).To(Equal(closeAfter))
		},
		// The common case: a length and a reusable connection.
		Entry("Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET", int64(5), false, false),
		// Chunked bodies have no length up front.
		Entry("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", int64(-1), true, false),
		// Framed two ways: chunked wins and the connection is not trusted again.
		Entry("Content-Length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", int64(-1), true, true),
		// Neither: the body runs to the close.
		Entry("close-delimited", "HTTP/1.1 200 OK\r\n\r\n", "GET", int64(-1), false, true),
		// HEAD responses never have a body whatever they announce.
		Entry("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", int64(0), false, false),
		// 204 and 304 have no body either.
		Entry("204", "HTTP/1.1 204 No Content\r\n\r\n", "GET", int64(0), false, false),
		// HTTP/1.0 closes unless it asks to keep alive.
		Entry("HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", int64(1), false, true),
		// HTTP/1.0 with keep-alive stays open.
		Entry("HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", "GET", int64(1), false, false),
		// Connection: close on HTTP/1.1.
		Entry("Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", "GET", int64(1), false, true),
		// Repeated equal lengths are one length (net/http dedups them).
		Entry("equal Content-Length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", "GET", int64(2), false, false),
	)

	It("should remove Content-Length from a response framed two ways", func() {
		rh, _, err := readHead("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", true)
		Expect(err).NotTo(HaveOccurred())
		Expect(rh.Header).NotTo(HaveKey("Content-Length"))
	})

	DescribeTable("should refuse heads it cannot frame or trust",
		func(raw string) {
			_, _, err := readHead(raw, "GET", true)
			Expect(err).To(HaveOccurred())
		},
		// Only chunked is a transfer coding a proxy can frame.
		Entry("Transfer-Encoding: gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
		// Two codings: net/http refuses them too.
		Entry("two Transfer-Encoding fields", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
		// Differing lengths are a splitting attempt.
		Entry("differing Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
		// A signed or non-decimal length.
		Entry("signed Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n"),
		// A bare CR inside a value could split the response downstream.
		Entry("CR in a value", "HTTP/1.1 200 OK\r\nX-A: a\rX-B: b\r\nContent-Length: 0\r\n\r\n"),
		// A field name with a space before the colon.
		Entry("space before colon", "HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 0\r\n\r\n"),
		// Not HTTP/1.x.
		Entry("bad version", "HTTP/2.0 200 OK\r\n\r\n"),
		// A two-digit status.
		Entry("bad status", "HTTP/1.1 20 OK\r\n\r\n"),
		// The connection closed mid-head.
		Entry("truncated head", "HTTP/1.1 200 OK\r\nContent-Len"),
	)

	It("should refuse a head over the limit", func() {
		br := bufio.NewReaderSize(strings.NewReader("HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("b", 40000)+"\r\n\r\n"), 4096)
		var rh upstream.ResponseHead
		err := rh.Read(br, "GET", http.Header{}, upstream.ReadOptions{MaxBytes: 8192})
		Expect(err).To(MatchError(upstream.ErrHeadTooLarge))
	})

	It("should read a head larger than the read buffer within the limit", func() {
		big := strings.Repeat("b", 10000)
		br := bufio.NewReaderSize(strings.NewReader("HTTP/1.1 200 OK\r\nX-Big: "+big+"\r\nContent-Length: 0\r\n\r\n"), 4096)
		var rh upstream.ResponseHead
		Expect(rh.Read(br, "GET", http.Header{}, upstream.ReadOptions{})).To(Succeed())
		Expect(rh.Header.Get("X-Big")).To(Equal(big))
	})
})
