package forward_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("Proxy limits", func() {
	var server1 *origin

	BeforeEach(func() {
		server1 = startOrigin("server1")
	})

	It("should answer 429 with a reason when a client passes rate_per_client", func() {
		px := startProxy(forward.Config{Open: true, AllowNets: loopback, Limits: forward.Limits{RatePerClient: 1}})
		codes := map[int]int{}
		var limited *http.Response
		for range 5 { // burst is 2, so at most 2 pass within this loop
			resp, _ := rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests {
				limited = resp
			}
		}
		Expect(codes[http.StatusOK]).To(BeNumerically("<=", 2))
		Expect(codes[http.StatusTooManyRequests]).To(BeNumerically(">=", 3))
		Expect(limited.Header.Get("Retry-After")).NotTo(BeEmpty())
		Expect(limited.Header.Get("Proxy-Status")).To(ContainSubstring("connection_limit_reached"))
	})

	It("should answer 503 to a tunnel over max_tunnels", func() {
		addr := startTCP(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		px := startProxy(forward.Config{Open: true, AllowNets: loopback, ConnectPorts: []uint16{portOf(addr)},
			Limits: forward.Limits{MaxTunnels: 1}})
		openTunnel(px.addr, addr)
		Eventually(px.p.Stats).Should(HaveField("Tunnels", BeEquivalentTo(1)))
		resp, body := rawRequest(px.addr, "CONNECT "+addr+" HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusServiceUnavailable))
		Expect(body).To(ContainSubstring("too many tunnels"))
	})

	It("should answer 503 and close a connection over max_conns", func() {
		px := startProxy(forward.Config{Open: true, AllowNets: loopback, Limits: forward.Limits{MaxConns: 1}})
		first, err := net.Dial("tcp", px.addr)
		Expect(err).NotTo(HaveOccurred())
		closeLater(first)
		Eventually(px.p.Stats).Should(HaveField("Conns", BeEquivalentTo(1)))

		second, err := net.Dial("tcp", px.addr)
		Expect(err).NotTo(HaveOccurred())
		closeLater(second)
		_ = second.SetDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(second), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusServiceUnavailable))
		Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("limits.max_conns"))

		Expect(first.Close()).To(Succeed())
		Eventually(px.p.Stats).Should(HaveField("Conns", BeZero()))
		resp, _ = rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusOK), "the slot is free again")
	})

	It("should hand the server connections whose socket it can wait on without reading", func() {
		p, err := forward.New(forward.Config{Open: true, AllowNets: loopback})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(p.Close)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		wrapped := p.Listener(ln)
		DeferCleanup(wrapped.Close)
		c, err := net.Dial("tcp", ln.Addr().String())
		Expect(err).NotTo(HaveOccurred())
		closeLater(c)
		sc, err := wrapped.Accept()
		Expect(err).NotTo(HaveOccurred())
		closeLater(sc)
		raw, ok := sc.(syscall.Conn)
		Expect(ok).To(BeTrue(), "the proxylab engine parks on readability only through syscall.Conn")
		_, err = raw.SyscallConn()
		Expect(err).NotTo(HaveOccurred())
	})

	It("should export Prometheus metrics on its own registry", func() {
		px := startProxy(forward.Config{Open: true, AllowNets: loopback})
		for range 3 { // the second and third count through the series cache
			rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		rawRequest(px.addr, "GET http://10.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n")
		rec := &responseRecorder{header: http.Header{}}
		req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
		px.p.MetricsHandler().ServeHTTP(rec, req)
		Expect(rec.body).To(And(
			ContainSubstring(`proxylab_forward_requests_total{code="200",decision="allowed",error="",proto="http"} 3`),
			ContainSubstring(`proxylab_forward_duration_seconds_count{decision="allowed",proto="http"} 3`),
			ContainSubstring(`proxylab_forward_duration_seconds_count{decision="denied",proto="http"} 1`),
			ContainSubstring(`proxylab_forward_requests_total{code="403",decision="denied",error="destination_ip_prohibited",proto="http"} 1`),
			ContainSubstring(`proxylab_forward_bytes_total{direction="down",proto="http"}`),
			ContainSubstring(`proxylab_forward_tunnels_open 0`),
		))
	})
})

type responseRecorder struct {
	header http.Header
	code   int
	body   string
}

func (r *responseRecorder) Header() http.Header { return r.header }
func (r *responseRecorder) WriteHeader(c int)   { r.code = c }
func (r *responseRecorder) Write(b []byte) (int, error) {
	r.body += string(b)
	return len(b), nil
}
