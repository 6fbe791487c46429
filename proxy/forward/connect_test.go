package forward_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/forward"
)

// startTCP serves handle on 127.0.0.1:0; cleanup closes the listener and
// waits for the handlers.
func startTCP(handle func(net.Conn)) string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	DeferCleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func portOf(addr string) uint16 { return netip.MustParseAddrPort(addr).Port() }

// openTunnel sends CONNECT target and returns the connection after a 200.
func openTunnel(proxyAddr, target string) (net.Conn, *bufio.Reader) {
	GinkgoHelper()
	c, err := net.Dial("tcp", proxyAddr)
	Expect(err).NotTo(HaveOccurred())
	closeLater(c)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	return c, br
}

var _ = Describe("Proxy serving CONNECT", func() {
	var (
		tlsOrigin *httptest.Server
		px        *running
	)

	BeforeEach(func() {
		tlsOrigin = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "tls %s", r.URL.Path)
		}))
		DeferCleanup(tlsOrigin.Close)
		tlsAddr := tlsOrigin.Listener.Addr().String()
		px = startProxy(forward.Config{
			Open:         true,
			AllowNets:    loopback,
			ConnectPorts: []uint16{443, portOf(tlsAddr)},
			ConnectTo:    map[string]string{"secure.test:443": tlsAddr},
			Timeouts:     forward.Timeouts{TunnelIdle: 300 * time.Millisecond},
		})
	})

	It("should tunnel TLS to a local server for Go's client", func() {
		resp, body := get(client(px.url()), tlsOrigin.URL+"/hello")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("tls /hello"))
	})

	It("should map a named server with connect_to and keep the default 443 port policy", func() {
		resp, body := get(client(px.url()), "https://secure.test/named")
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(body).To(Equal("tls /named"))
		Eventually(px.log.String).Should(ContainSubstring(`"target":"secure.test:443"`))
	})

	It("should work for curl -x and for curl with HTTPS_PROXY", func() {
		curl, err := exec.LookPath("curl")
		if err != nil {
			Skip("curl is not on PATH; skipping the curl interoperability spec")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, "-sS", "-k", "-x", "http://"+px.addr, tlsOrigin.URL+"/curl").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(Equal("tls /curl"))

		cmd := exec.CommandContext(ctx, curl, "-sS", "-k", "https://secure.test/env")
		cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://"+px.addr, "https_proxy=http://"+px.addr, "NO_PROXY=", "no_proxy=")
		out, err = cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(Equal("tls /env"))
	})

	It("should relay a half-close and keep the other direction open", func() {
		addr := startTCP(func(c net.Conn) {
			b, _ := io.ReadAll(c) // until the client's half-close arrives
			fmt.Fprintf(c, "got %d bytes: %s", len(b), b)
		})
		cfg := px.p.Config()
		cfg.ConnectPorts = append(cfg.ConnectPorts, portOf(addr))
		Expect(px.p.Swap(cfg)).To(Succeed())

		c, br := openTunnel(px.addr, addr)
		_, err := io.WriteString(c, "ping")
		Expect(err).NotTo(HaveOccurred())
		Expect(c.(*net.TCPConn).CloseWrite()).To(Succeed())
		reply, err := io.ReadAll(br)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(reply)).To(Equal("got 4 bytes: ping"))
		Eventually(px.log.String).Should(And(ContainSubstring(`"proto":"connect"`), ContainSubstring(`"bytes_up":4`),
			ContainSubstring(`"bytes_down":17`)))
	})

	It("should forward bytes the client pipelined right after CONNECT", func() {
		addr := startTCP(func(c net.Conn) {
			b := make([]byte, 5)
			_, _ = io.ReadFull(c, b)
			_, _ = c.Write(b)
		})
		cfg := px.p.Config()
		cfg.ConnectPorts = append(cfg.ConnectPorts, portOf(addr))
		Expect(px.p.Swap(cfg)).To(Succeed())
		c, err := net.Dial("tcp", px.addr)
		Expect(err).NotTo(HaveOccurred())
		closeLater(c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nearly", addr, addr)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		b := make([]byte, 5)
		_, err = io.ReadFull(br, b)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(b)).To(Equal("early"))
	})

	It("should close a tunnel idle for tunnel_idle", func(ctx SpecContext) {
		addr := startTCP(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		cfg := px.p.Config()
		cfg.ConnectPorts = append(cfg.ConnectPorts, portOf(addr))
		Expect(px.p.Swap(cfg)).To(Succeed())
		c, br := openTunnel(px.addr, addr)
		Eventually(px.p.Stats).Should(HaveField("Tunnels", BeEquivalentTo(1)))
		_, err := br.ReadByte()
		Expect(err).To(MatchError(io.EOF), "the proxy closed the idle tunnel")
		_ = c
		Eventually(px.p.Stats).Should(HaveField("Tunnels", BeZero()))
		Eventually(px.log.String).Should(ContainSubstring(`"error":"connection_read_timeout"`))
	}, SpecTimeout(10*time.Second))

	It("should keep a slow but active tunnel open past tunnel_idle", func(ctx SpecContext) {
		addr := startTCP(func(c net.Conn) { _, _ = io.Copy(c, c) })
		cfg := px.p.Config()
		cfg.ConnectPorts = append(cfg.ConnectPorts, portOf(addr))
		Expect(px.p.Swap(cfg)).To(Succeed())
		c, br := openTunnel(px.addr, addr)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := range 8 { // 800ms of traffic, well past the 300ms idle limit
			select {
			case <-ctx.Done():
				Fail("spec timed out")
			case <-tick.C:
			}
			_, err := fmt.Fprintf(c, "%d", i)
			Expect(err).NotTo(HaveOccurred())
			b, err := br.ReadByte()
			Expect(err).NotTo(HaveOccurred())
			Expect(b).To(Equal(byte('0' + i)))
		}
	}, SpecTimeout(10*time.Second))

	It("should close open tunnels on Close", func() {
		addr := startTCP(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		cfg := px.p.Config()
		cfg.ConnectPorts = append(cfg.ConnectPorts, portOf(addr))
		cfg.Timeouts.TunnelIdle = time.Minute
		Expect(px.p.Swap(cfg)).To(Succeed())
		_, br := openTunnel(px.addr, addr)
		Eventually(px.p.Stats).Should(HaveField("Tunnels", BeEquivalentTo(1)))
		Expect(px.p.Close()).To(Succeed())
		_, err := br.ReadByte()
		Expect(err).To(HaveOccurred())
		Eventually(px.p.Stats).Should(HaveField("Tunnels", BeZero()))
	})

	It("should answer 502 when the destination refuses the connection", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := ln.Addr().String()
		Expect(ln.Close()).To(Succeed())
		cfg := px.p.Config()
		cfg.ConnectPorts = append(cfg.ConnectPorts, portOf(addr))
		Expect(px.p.Swap(cfg)).To(Succeed())
		resp, _ := rawRequest(px.addr, "CONNECT "+addr+" HTTP/1.1\r\nHost: x\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusBadGateway))
		Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("connection_refused"))
	})
})

var _ = Describe("Proxy under a shutting-down proxy.Server", func() {
	It("should have its tunnels closed by the shutdown deadline", func() {
		addr := startTCP(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		p, err := forward.New(forward.Config{Open: true, AllowNets: loopback, ConnectPorts: []uint16{portOf(addr)}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(p.Close)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		srv := proxy.NewServer(p, proxy.ServerConfig{})
		done := make(chan error, 1)
		go func() { done <- srv.Serve(p.Listener(ln)) }()

		_, br := openTunnel(ln.Addr().String(), addr)
		Eventually(srv.HijackedCount).Should(Equal(1))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		Expect(srv.Shutdown(ctx)).To(MatchError(context.DeadlineExceeded))
		_, err = br.ReadByte()
		Expect(err).To(HaveOccurred(), "the tunnel was cut")
		Eventually(done).Should(Receive(BeNil()))
		Eventually(p.Stats).Should(HaveField("Tunnels", BeZero()))
		Eventually(srv.HijackedCount).Should(BeZero())
	})
})
