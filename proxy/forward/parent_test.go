package forward_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("Proxy chained to a parent proxy", func() {
	var (
		server1   *origin
		tlsOrigin *httptest.Server
		parent    *running
		child     *running
		tlsPort   uint16
	)

	childConfig := func(user, pass string, match ...string) forward.Config {
		return forward.Config{
			Open:         true,
			AllowNets:    loopback,
			ConnectPorts: []uint16{tlsPort},
			Via:          "child",
			Parent:       []forward.Parent{{URL: "http://" + parent.addr, User: user, Pass: pass, Match: match}},
		}
	}

	BeforeEach(func() {
		server1 = startOrigin("server1")
		tlsOrigin = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "tls via chain")
		}))
		DeferCleanup(tlsOrigin.Close)
		tlsPort = portOf(tlsOrigin.Listener.Addr().String())
		parent = startProxy(forward.Config{
			Auth:         []forward.Credential{{User: "child", Pass: "parent-secret"}},
			AllowNets:    loopback,
			ConnectPorts: []uint16{tlsPort},
			Via:          "parent",
		})
		child = startProxy(childConfig("child", "parent-secret"))
	})

	It("should send plain http through the parent with the parent's credentials", func() {
		resp, body := get(client(child.url()), "http://"+server1.addr()+"/chained")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("server1 GET /chained"))
		Expect(resp.Header.Get("X-Seen-Via")).To(Equal("1.1 child, 1.1 parent"))
		Expect(resp.Header.Get("X-Seen-Proxy-Authorization")).To(BeEmpty())
		Eventually(parent.log.String).Should(ContainSubstring(`"user":"child"`))
	})

	It("should CONNECT through the parent", func() {
		resp, body := get(client(child.url()), tlsOrigin.URL+"/")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("tls via chain"))
		// Tunnels are logged when they end; the client's pool keeps this one open.
		Expect(parent.p.Stats().Tunnels).To(BeEquivalentTo(1))
		Expect(child.p.Stats().Tunnels).To(BeEquivalentTo(1))
	})

	It("should chain SOCKS5 tunnels through the parent", func() {
		socks := child.startSOCKS()
		resp, body := get(socksTLSClient(socks), tlsOrigin.URL+"/")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("tls via chain"))
		Expect(parent.p.Stats().Tunnels).To(BeEquivalentTo(1))
	})

	When("the parent refuses the child's credentials", func() {
		BeforeEach(func() {
			Expect(child.p.Swap(childConfig("child", "wrong"))).To(Succeed())
		})

		It("should pass the parent's 407 to an http client with its challenge", func() {
			resp, _ := get(client(child.url()), "http://"+server1.addr()+"/")
			Expect(resp.StatusCode).To(Equal(http.StatusProxyAuthRequired))
			Expect(resp.Header.Get("Proxy-Authenticate")).To(Equal(`Basic realm="proxylab"`))
			Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("parent proxy " + parent.addr))
			Expect(server1.requests.Load()).To(BeZero())
		})

		It("should pass the parent's 407 to a CONNECT client", func() {
			resp, body := rawRequest(child.addr, fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n", tlsOrigin.Listener.Addr()))
			Expect(resp.StatusCode).To(Equal(http.StatusProxyAuthRequired))
			Expect(resp.Header.Get("Proxy-Authenticate")).To(Equal(`Basic realm="proxylab"`))
			Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("answered 407"))
			Expect(body).To(ContainSubstring("bad credentials"))
		})
	})

	It("should go direct for destinations no parent matches", func() {
		Expect(child.p.Swap(childConfig("child", "parent-secret", "*.via-parent.test"))).To(Succeed())
		resp, _ := get(client(child.url()), "http://"+server1.addr()+"/direct")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(resp.Header.Get("X-Seen-Via")).To(Equal("1.1 child"))
		Expect(parent.log.String()).To(BeEmpty())
	})

	It("should answer 502 when the parent is down", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		gone := ln.Addr().String()
		Expect(ln.Close()).To(Succeed())
		cfg := childConfig("", "")
		cfg.Parent[0].URL = "http://" + gone
		Expect(child.p.Swap(cfg)).To(Succeed())
		resp, _ := get(client(child.url()), "http://"+server1.addr()+"/")
		Expect(resp.StatusCode).To(Equal(http.StatusBadGateway))
		resp, _ = rawRequest(child.addr, fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n", tlsOrigin.Listener.Addr()))
		Expect(resp.StatusCode).To(Equal(http.StatusBadGateway))
		Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("connection_refused"))
	})

	It("should detect a loop when the parent is itself", func() {
		cfg := childConfig("", "")
		cfg.Parent[0].URL = "http://" + child.addr
		Expect(child.p.Swap(cfg)).To(Succeed())
		resp, _ := get(client(child.url()), "http://"+server1.addr()+"/loop")
		Expect(resp.StatusCode).To(Equal(http.StatusLoopDetected))
		Expect(server1.requests.Load()).To(BeZero())
	})
})
