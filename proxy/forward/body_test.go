package forward_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("Proxy reading request bodies", func() {
	var (
		server1 *origin
		px      *running
	)

	BeforeEach(func() {
		server1 = startOrigin("server1")
		px = startProxy(forward.Config{
			Open:      true,
			AllowNets: loopback,
			Timeouts:  forward.Timeouts{ClientBody: 300 * time.Millisecond},
		})
	})

	DescribeTable("should answer 400 and close on a malformed chunked body",
		func(chunks string) {
			c, err := net.Dial("tcp", px.addr)
			Expect(err).NotTo(HaveOccurred())
			closeLater(c)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = io.WriteString(c, "POST http://"+server1.addr()+"/up HTTP/1.1\r\nHost: x\r\n"+
				"Transfer-Encoding: chunked\r\n\r\n"+chunks)
			Expect(err).NotTo(HaveOccurred())
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			_, _ = io.Copy(io.Discard, resp.Body)
			_, err = br.ReadByte()
			Expect(err).To(HaveOccurred(), "the connection is closed: what follows has unknown framing")
			Expect(server1.complete.Load()).To(BeZero(), "the origin never saw a complete request")
		},
		// Bare LF after the chunk size (CVE-2025-22871).
		Entry(nil, "5\nhello\r\n0\r\n\r\n"),
		// A chunk size that is not hex.
		Entry(nil, "zz\r\nhello\r\n0\r\n\r\n"),
	)

	It("should answer 408 to a body that trickles past client_body", func(ctx SpecContext) {
		c, err := net.Dial("tcp", px.addr)
		Expect(err).NotTo(HaveOccurred())
		closeLater(c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.WriteString(c, "POST http://"+server1.addr()+"/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
		Expect(err).NotTo(HaveOccurred())
		stop := make(chan struct{})
		trickled := make(chan struct{})
		go func() {
			defer close(trickled)
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for range 60 { // bounded: at most 3s of trickle
				select {
				case <-stop:
					return
				case <-t.C:
				}
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
		DeferCleanup(func() { close(stop); <-trickled })
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusRequestTimeout))
		_, _ = io.Copy(io.Discard, resp.Body)
		_, err = br.ReadByte()
		Expect(err).To(HaveOccurred(), "the connection is closed")
		Expect(server1.complete.Load()).To(BeZero(), "the origin never got the whole body")
	}, SpecTimeout(10*time.Second))

	It("should not let the body deadline cut a response after the body arrived", func(ctx SpecContext) {
		resp, err := client(px.url()).Post("http://"+server1.addr()+"/ok", "text/plain", stringsReader("payload"))
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("X-Seen-Body")).To(Equal("payload"))
	}, SpecTimeout(10*time.Second))
})
