package upstream_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/upstream"
)

// rawUpstream accepts connections on loopback (scriptUpstream) and answers
// each request head with the next of the given raw responses; it counts
// connections.
type rawUpstream struct {
	address string
	mu      sync.Mutex
	conns   int
}

func startRaw(responses ...string) *rawUpstream {
	GinkgoHelper()
	u := &rawUpstream{}
	next := 0
	var nmu sync.Mutex
	u.address = scriptUpstream(func(c net.Conn, _ *bufio.Reader) {
		u.mu.Lock()
		u.conns++
		u.mu.Unlock()
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
				continue
			}
			nmu.Lock()
			resp := responses[next%len(responses)]
			next++
			nmu.Unlock()
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
			if strings.Contains(resp, "Connection: close") {
				return
			}
		}
	})
	return u
}

func (u *rawUpstream) addr() string { return u.address }

func (u *rawUpstream) connCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conns
}

// exchange sends a GET on c's pooled connection and reads the response with
// the hand-written head and body readers.
func exchange(c *upstream.Client, addr string) (*upstream.ResponseHead, string, http.Header, error) {
	pc, err := c.Get(context.Background(), addr, false)
	if err != nil {
		return nil, "", nil, err
	}
	head := upstream.RequestHead{Method: "GET", Target: "/", Host: "h"}
	Expect(head.Write(pc.Writer())).To(Succeed())
	Expect(pc.Writer().Flush()).To(Succeed())
	var rh upstream.ResponseHead
	if err := rh.Read(pc.Reader(), "GET", http.Header{}, upstream.ReadOptions{DropHopByHop: true}); err != nil {
		pc.Close()
		return nil, "", nil, err
	}
	var b upstream.Body
	b.Reset(c, pc, &rh)
	var out bytes.Buffer
	_, err = b.WriteTo(&out)
	trailer := b.Trailer
	b.Close()
	return &rh, out.String(), trailer, err
}

var _ = Describe("Body", func() {
	var c *upstream.Client

	BeforeEach(func() {
		c = upstream.New(upstream.Config{})
		DeferCleanup(c.Close)
	})

	It("should read a Content-Length body and reuse the connection", func() {
		u := startRaw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		for range 3 {
			_, body, _, err := exchange(c, u.addr())
			Expect(err).NotTo(HaveOccurred())
			Expect(body).To(Equal("hello"))
		}
		Expect(u.connCount()).To(Equal(1))
	})

	It("should decode a chunked body with its trailer and reuse the connection", func() {
		u := startRaw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nX-Sum: 6\r\n\r\n")
		for range 2 {
			rh, body, trailer, err := exchange(c, u.addr())
			Expect(err).NotTo(HaveOccurred())
			Expect(body).To(Equal("hello!"))
			Expect(rh.Trailer).To(Equal([]string{"X-Sum"}))
			Expect(trailer).To(Equal(http.Header{"X-Sum": {"6"}}))
		}
		Expect(u.connCount()).To(Equal(1))
	})

	It("should read a close-delimited body to the end and not reuse the connection", func() {
		u := startRaw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
		for range 2 {
			_, body, _, err := exchange(c, u.addr())
			Expect(err).NotTo(HaveOccurred())
			Expect(body).To(Equal("all of it"))
		}
		Expect(u.connCount()).To(Equal(2))
	})

	DescribeTable("should report a broken body as an error, never as a clean end",
		func(resp string) {
			u := startRaw(resp)
			_, _, _, err := exchange(c, u.addr())
			Expect(err).To(HaveOccurred())
		},
		// The upstream died before Content-Length bytes came.
		Entry("short Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort"),
		// A chunk size that is not hex.
		Entry("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
		// Chunk data not followed by CRLF.
		Entry("chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"),
		// The upstream died inside a chunked body.
		Entry("chunked body cut short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhel"),
	)
})

var _ = Describe("Client", func() {
	var c *upstream.Client

	BeforeEach(func() {
		c = upstream.New(upstream.Config{})
		DeferCleanup(c.Close)
	})

	It("should serve as an http.RoundTripper with pooled connections", func() {
		u := startRaw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		req, _ := http.NewRequest("GET", "http://"+u.addr()+"/", nil)
		Expect(c.Handles(req)).To(BeTrue())
		for range 3 {
			resp, err := c.RoundTrip(req)
			Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			Expect(string(body)).To(Equal("ok"))
		}
		Expect(u.connCount()).To(Equal(1))
	})

	It("should leave upgrades and Expect to http.Transport", func() {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:1/", nil)
		req.Header.Set("Upgrade", "websocket")
		Expect(c.Handles(req)).To(BeFalse())
		req, _ = http.NewRequest("CONNECT", "http://127.0.0.1:1/", nil)
		Expect(c.Handles(req)).To(BeFalse())
	})

	It("should resend an idempotent request once when its pooled connection was closed", func() {
		u := startRaw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		req, _ := http.NewRequest("GET", "http://"+u.addr()+"/", nil)
		resp, err := c.RoundTrip(req)
		Expect(err).NotTo(HaveOccurred())
		io.ReadAll(resp.Body)
		resp.Body.Close()
		c.CloseIdle() // the pooled connection goes; the next request dials
		resp, err = c.RoundTrip(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
	})
})
