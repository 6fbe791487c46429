package forward_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("Proxy limiting request bodies", func() {
	const limit = 1 << 10

	var (
		server1 *origin
		px      *running
	)

	BeforeEach(func() {
		server1 = startOrigin("server1")
		px = startProxy(forward.Config{
			Open:         true,
			AllowNets:    loopback,
			ConnectPorts: []uint16{server1.port()},
			Limits:       forward.Limits{MaxBodyBytes: limit},
		})
	})

	// send writes a raw request to the proxy and returns the response (body
	// read) and whether the proxy closed the connection after it.
	send := func(raw string) (*http.Response, bool) {
		GinkgoHelper()
		c, err := net.Dial("tcp", px.addr)
		Expect(err).NotTo(HaveOccurred())
		closeLater(c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.WriteString(c, raw)
		Expect(err).NotTo(HaveOccurred())
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		Expect(err).NotTo(HaveOccurred())
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		_, err = br.ReadByte()
		return resp, err != nil
	}

	chunked := func(size int) string {
		var b strings.Builder
		for size > 0 {
			n := min(size, 256)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, strings.Repeat("x", n))
			size -= n
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}

	It("should answer 413 to a Content-Length over the limit without dialling", func() {
		resp, closed := send(fmt.Sprintf("POST http://%s/up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s",
			server1.addr(), limit+1, strings.Repeat("x", limit+1)))
		Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge))
		Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("error=http_request_error"))
		Expect(closed).To(BeTrue(), "the connection is closed after the refusal")
		Expect(server1.accepted.Load()).To(BeZero(), "no connection to the origin")
		Eventually(px.log.String).Should(And(ContainSubstring(`"decision":"denied"`),
			ContainSubstring(`"rule":"limits.max_body_bytes"`), ContainSubstring(`"status":413`)))
	})

	It("should answer 413 to a chunked body that grows over the limit, and never complete it upstream", func() {
		resp, closed := send("POST http://" + server1.addr() + "/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunked(4*limit))
		Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge))
		Expect(closed).To(BeTrue(), "the rest of the body is unread: the connection is closed")
		Consistently(server1.complete.Load, 200*time.Millisecond, 20*time.Millisecond).Should(BeZero(),
			"the origin never got a whole request")
		// The policy allowed the request: the log keeps its rule and says what went wrong.
		Eventually(px.log.String).Should(And(ContainSubstring(`"status":413`), ContainSubstring(`"error":"http_request_error"`)))
	})

	DescribeTable("should pass bodies within the limit",
		func(header string, body string) {
			resp, _ := send("POST http://" + server1.addr() + "/up HTTP/1.1\r\nHost: x\r\n" + header + "\r\n\r\n" + body)
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(server1.complete.Load()).To(BeEquivalentTo(1))
			Expect(resp.Header.Get("X-Seen-Body")).To(HaveLen(limit))
		},
		// A declared length exactly at the limit is allowed: the limit is inclusive.
		Entry(nil, fmt.Sprintf("Content-Length: %d", limit), strings.Repeat("x", limit)),
		// A chunked body that ends exactly at the limit is allowed too.
		Entry(nil, "Transfer-Encoding: chunked", chunked(limit)),
	)

	It("should not limit what goes through a CONNECT tunnel", func() {
		c, br := openTunnel(px.addr, server1.addr())
		body := strings.Repeat("x", 4*limit)
		fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(br, nil)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("X-Seen-Body")).To(HaveLen(len(body)))
	})

	DescribeTable("should read max_body_bytes as the reverse proxy does",
		func(yaml string, want forward.ByteSize) {
			cfg, err := forward.ParseConfig([]byte("open: true\nlimits: {max_body_bytes: " + yaml + "}\n"))
			Expect(err).NotTo(HaveOccurred())
			p, err := forward.New(cfg)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(p.Close)
			Expect(p.Config().Limits.MaxBodyBytes).To(Equal(want))
		},
		// Zero is the reverse proxy's default, 10 MiB.
		Entry(nil, "0", forward.DefaultMaxBodyBytes),
		// A size string with a binary unit.
		Entry(nil, "64KiB", forward.ByteSize(64<<10)),
		// A plain number of bytes.
		Entry(nil, "2048", forward.ByteSize(2048)),
		// Negative turns the limit off and must survive the defaults.
		Entry(nil, "-1", forward.ByteSize(-1)),
	)

	It("should name a bad size and the expected form", func() {
		_, err := forward.ParseConfig([]byte("open: true\nlimits: {max_body_bytes: 10 apples}\n"))
		Expect(err).To(MatchError(And(ContainSubstring(`"10 apples"`), ContainSubstring("KiB"))))
	})
})

var _ = Describe("Proxy without a body limit", func() {
	It("should pass a chunked body of any size when max_body_bytes is negative", func() {
		server1 := startOrigin("server1")
		px := startProxy(forward.Config{Open: true, AllowNets: loopback, Limits: forward.Limits{MaxBodyBytes: -1}})
		body := strings.Repeat("x", 16<<10) // small enough for the origin to echo in a header
		req, err := http.NewRequest(http.MethodPost, "http://"+server1.addr()+"/up", io.NopCloser(strings.NewReader(body)))
		Expect(err).NotTo(HaveOccurred())
		req.ContentLength = -1 // chunked
		resp, err := client(px.url()).Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("X-Seen-Body")).To(HaveLen(len(body)))
	})
})
