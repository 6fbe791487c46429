package forward_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	xproxy "golang.org/x/net/proxy"

	"github.com/proxylab/proxylab/proxy/forward"
)

// socksClient returns an http.Client whose connections go through the SOCKS5
// server at addr.
func socksClient(addr string, auth *xproxy.Auth) *http.Client {
	GinkgoHelper()
	d, err := xproxy.SOCKS5("tcp", addr, auth, xproxy.Direct)
	Expect(err).NotTo(HaveOccurred())
	tr := &http.Transport{DialContext: d.(xproxy.ContextDialer).DialContext}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// socksTLSClient is socksClient for https origins with test certificates.
func socksTLSClient(addr string) *http.Client {
	GinkgoHelper()
	c := socksClient(addr, nil)
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	return c
}

func socksDial(addr string, auth *xproxy.Auth, target string) (net.Conn, error) {
	d, err := xproxy.SOCKS5("tcp", addr, auth, xproxy.Direct)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.(xproxy.ContextDialer).DialContext(ctx, "tcp", target)
}

var _ = Describe("Proxy serving SOCKS5", func() {
	var (
		server1  *origin
		dialer   *stubDialer
		resolver *stubResolver
	)

	BeforeEach(func() {
		server1 = startOrigin("server1")
		dialer = &stubDialer{redirect: map[string]string{}}
		resolver = newStubResolver()
	})

	When("no auth is configured", func() {
		var socks string
		BeforeEach(func() {
			px := startProxy(forward.Config{
				Open:         true,
				AllowNets:    loopback,
				ConnectPorts: []uint16{server1.port(), 80},
				ConnectTo:    map[string]string{"server1:80": server1.addr()},
			}, forward.WithDialer(dialer), forward.WithResolver(resolver))
			socks = px.startSOCKS()
		})

		It("should connect to an allowed destination", func() {
			resp, body := get(socksClient(socks, nil), "http://"+server1.addr()+"/socks")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(body).To(Equal("server1 GET /socks"))
		})

		It("should map a named server with connect_to", func() {
			resp, body := get(socksClient(socks, nil), "http://server1/named")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(body).To(Equal("server1 GET /named"))
			Expect(dialer.calls()).To(Equal([]string{server1.addr()}))
		})

		It("should refuse a port outside connect_ports without dialling", func() {
			_, err := socksDial(socks, nil, "127.0.0.1:22")
			Expect(err).To(MatchError(ContainSubstring("not allowed")))
			Expect(dialer.calls()).To(BeEmpty())
		})
	})

	When("auth is configured", func() {
		var socks string
		BeforeEach(func() {
			px := startProxy(forward.Config{
				Auth:         []forward.Credential{{User: "alice", Pass: "pw"}},
				AllowNets:    loopback,
				ConnectPorts: []uint16{server1.port()},
			}, forward.WithDialer(dialer))
			socks = px.startSOCKS()
		})

		It("should connect with the right credentials", func() {
			resp, _ := get(socksClient(socks, &xproxy.Auth{User: "alice", Password: "pw"}), "http://"+server1.addr()+"/")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
		})

		It("should refuse wrong credentials and no credentials without dialling", func() {
			_, err := socksDial(socks, &xproxy.Auth{User: "alice", Password: "nope"}, server1.addr())
			Expect(err).To(HaveOccurred())
			_, err = socksDial(socks, nil, server1.addr())
			Expect(err).To(HaveOccurred())
			Expect(dialer.calls()).To(BeEmpty())
		})
	})

	When("the SSRF guard is on", func() {
		var socks string
		BeforeEach(func() {
			resolver.set("internal.test", []string{"10.1.2.3"})
			px := startProxy(forward.Config{Open: true}, forward.WithDialer(dialer), forward.WithResolver(resolver))
			socks = px.startSOCKS()
		})

		DescribeTable("should refuse without dialling",
			func(target string) {
				_, err := socksDial(socks, nil, target)
				Expect(err).To(MatchError(ContainSubstring("not allowed")))
				Expect(dialer.calls()).To(BeEmpty())
			},
			// Loopback by IPv4 address.
			Entry(nil, "127.0.0.1:443"),
			// Loopback by IPv6 address.
			Entry(nil, "[::1]:443"),
			// Cloud metadata.
			Entry(nil, "169.254.169.254:443"),
			// A name that resolves to a private address.
			Entry(nil, "internal.test:443"),
		)
	})

	It("should refuse commands other than CONNECT", func() {
		px := startProxy(forward.Config{Open: true}, forward.WithDialer(dialer))
		socks := px.startSOCKS()
		c, err := net.Dial("tcp", socks)
		Expect(err).NotTo(HaveOccurred())
		closeLater(c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write([]byte{5, 1, 0})
		Expect(err).NotTo(HaveOccurred())
		b := make([]byte, 2)
		_, err = io.ReadFull(c, b)
		Expect(err).NotTo(HaveOccurred())
		Expect(b).To(Equal([]byte{5, 0}))
		_, err = c.Write([]byte{5, 3, 0, 1, 127, 0, 0, 1, 0, 53}) // UDP ASSOCIATE
		Expect(err).NotTo(HaveOccurred())
		reply := make([]byte, 10)
		_, err = io.ReadFull(c, reply)
		Expect(err).NotTo(HaveOccurred())
		Expect(reply[1]).To(BeEquivalentTo(7), "command not supported")
	})
})
