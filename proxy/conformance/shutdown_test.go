package conformance_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/conformance"
)

// hijacked opens what http.Server.Shutdown does not track by itself: a
// WebSocket through the reverse proxy, a CONNECT tunnel through the forward
// one. It checks bytes flow and returns the client's end.
func hijacked(w *world) net.Conn {
	GinkgoHelper()
	cfg := w.runner.Config()
	c, err := net.Dial("tcp", cfg.Proxy)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * time.Second))
	method := http.MethodGet
	if cfg.Mode == conformance.Reverse {
		_, err = io.WriteString(c, "GET /c/39?do="+conformance.DoWebSocket+" HTTP/1.1\r\nHost: "+cfg.Host+
			"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	} else {
		method = http.MethodConnect
		_, err = io.WriteString(c, "CONNECT "+cfg.TunnelAuthority+" HTTP/1.1\r\nHost: "+cfg.TunnelAuthority+
			"\r\nProxy-Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.Auth))+"\r\n\r\n"+
			"GET /c/39?do="+conformance.DoWebSocket+" HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\n"+
			"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	}
	Expect(err).NotTo(HaveOccurred())
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	Expect(err).NotTo(HaveOccurred())
	if method == http.MethodConnect {
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		resp, err = http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(resp.StatusCode).To(Equal(http.StatusSwitchingProtocols))
	_, err = io.WriteString(c, "ping")
	Expect(err).NotTo(HaveOccurred())
	buf := make([]byte, 4)
	_, err = io.ReadFull(br, buf)
	Expect(err).NotTo(HaveOccurred())
	Expect(string(buf)).To(Equal("ping"))
	c.SetDeadline(time.Time{})
	return c
}

var _ = Describe("Shutting a built-in proxy down", func() {
	const deadline = 300 * time.Millisecond

	for _, mode := range []conformance.Mode{conformance.Reverse, conformance.Forward} {
		When("the "+string(mode)+" proxy has an open "+map[conformance.Mode]string{
			conformance.Reverse: "WebSocket", conformance.Forward: "CONNECT tunnel"}[mode], func() {
			var (
				w    *world
				conn net.Conn
			)

			BeforeEach(func() {
				w = startWorld(mode, false)
				conn = hijacked(w)
				Expect(w.builtin.Server().HijackedCount()).To(Equal(1))
			})

			It("should finish by its deadline, close the hijacked connection and refuse new ones", func(ctx SpecContext) {
				sctx, cancel := context.WithTimeout(ctx, deadline)
				defer cancel()
				start := time.Now()
				err := w.builtin.Server().Shutdown(sctx)
				took := time.Since(start)
				Expect(err).To(MatchError(context.DeadlineExceeded), "it had to cut the hijacked connection")
				Expect(took).To(BeNumerically("<", deadline+time.Second))
				// Closed by the deadline; the relay's goroutines untrack it as
				// they notice.
				Eventually(ctx, w.builtin.Server().HijackedCount).Should(BeZero())

				conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, err = conn.Read(make([]byte, 1))
				Expect(err).To(HaveOccurred())
				Expect(err).NotTo(MatchError(ContainSubstring("timeout")), "the connection must be closed, not idle")

				_, err = net.DialTimeout("tcp", w.runner.Config().Proxy, time.Second)
				Expect(err).To(HaveOccurred(), "the listener must be closed")
			}, SpecTimeout(10*time.Second))

			It("should let a request in flight finish when it ends before the deadline", func(ctx SpecContext) {
				// The hijacked connection closes on the client's side first,
				// so Shutdown has nothing to cut.
				Expect(conn.Close()).To(Succeed())
				Eventually(ctx, w.builtin.Server().HijackedCount).Should(BeZero())

				cfg := w.runner.Config()
				slow, err := net.Dial("tcp", cfg.Proxy)
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(func() { slow.Close() })
				target, host, auth := "/c/39b?do=sleep&for=200ms", cfg.Host, ""
				if mode == conformance.Forward {
					target = "http://" + cfg.OriginAuthority + target
					host = cfg.OriginAuthority
					auth = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Auth)) + "\r\n"
				}
				_, err = io.WriteString(slow, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+auth+"\r\n")
				Expect(err).NotTo(HaveOccurred())
				Eventually(ctx, func() int { return len(w.origin.Received("39b")) }).Should(Equal(1))

				sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- w.builtin.Server().Shutdown(sctx) }()

				slow.SetReadDeadline(time.Now().Add(3 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(slow), &http.Request{Method: http.MethodGet})
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.StatusCode).To(Equal(http.StatusOK))
				Eventually(ctx, done).Should(Receive(BeNil()))
			}, SpecTimeout(10*time.Second))
		})
	}
})
