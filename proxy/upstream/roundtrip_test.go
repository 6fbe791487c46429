package upstream_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/upstream"
)

// seen is what a caller of RoundTrip sees of a response, body read whole.
type seen struct {
	Status           string
	StatusCode       int
	Proto            string
	ProtoMajor       int
	ProtoMinor       int
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	TrailerBefore    http.Header
	Trailer          http.Header
	Body             string
}

func see(resp *http.Response) seen {
	GinkgoHelper()
	s := seen{Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor,
		ProtoMinor: resp.ProtoMinor, Header: resp.Header, ContentLength: resp.ContentLength,
		TransferEncoding: resp.TransferEncoding, Close: resp.Close, TrailerBefore: resp.Trailer.Clone()}
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
	s.Body = string(b)
	s.Trailer = resp.Trailer
	return s
}

var _ = Describe("Client.RoundTrip", func() {
	var c *upstream.Client

	BeforeEach(func() {
		c = upstream.New(upstream.Config{})
		DeferCleanup(c.Close)
	})

	DescribeTable("should give the response http.ReadResponse gives",
		func(method, raw string) {
			addr := scriptUpstream(func(c net.Conn, br *bufio.Reader) {
				if readRequestHead(br) == nil {
					io.WriteString(c, raw) // then close: the end of a body read to the close
				}
			})
			req, _ := http.NewRequest(method, "http://"+addr+"/", nil)
			resp, err := c.RoundTrip(req)
			Expect(err).NotTo(HaveOccurred())
			got := see(resp)
			want, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), req)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(see(want)))
		},
		// The common case: a length, a reason phrase.
		Entry("Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok"),
		// Trailers announced, then filled in once the body was read.
		Entry("chunked with trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 2\r\n\r\n"),
		// A HEAD response reports the length its body would have had.
		Entry("HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n"),
		// No reason phrase.
		Entry("no reason", "GET", "HTTP/1.1 204\r\n\r\n"),
		// HTTP/1.0 without keep-alive, read to the close.
		Entry("HTTP/1.0", "GET", "HTTP/1.0 200 OK\r\n\r\nall"),
		// Hop-by-hop fields stay for the caller to remove, as net/http leaves them.
		Entry("hop-by-hop kept", "GET", "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n"),
	)

	It("should resend an idempotent request once on a new connection when the pooled one is stale", func() {
		// One answer per connection, then a close without Connection: close.
		addr := scriptUpstream(func(c net.Conn, br *bufio.Reader) {
			if readRequestHead(br) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		})
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		for range 3 {
			resp, err := c.RoundTrip(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(see(resp).Body).To(Equal("ok"))
		}
	})

	It("should unblock a body read when the request's context ends", func() {
		addr := scriptUpstream(func(c net.Conn, br *bufio.Reader) {
			if readRequestHead(br) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
				io.Copy(io.Discard, br) // stalls until the client closes
			}
		})
		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
		resp, err := c.RoundTrip(req)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(resp.Body.Close)
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadAll(resp.Body)
			done <- err
		}()
		Consistently(done, "50ms").ShouldNot(Receive())
		cancel()
		Eventually(done).Should(Receive(HaveOccurred()))
	})
})
