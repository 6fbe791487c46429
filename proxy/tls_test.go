package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/sim/server"
)

// serveOwnTLS serves h with TLS on the own loop on 127.0.0.1:0 with a
// throwaway certificate for "a.test"; it returns the server, its address and
// a pool that trusts the certificate.
func serveOwnTLS(h http.Handler, cfg proxy.ServerConfig) (*proxy.Server, string, *x509.CertPool) {
	GinkgoHelper()
	cert, err := server.SelfSigned("a.test")
	Expect(err).NotTo(HaveOccurred())
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	Expect(err).NotTo(HaveOccurred())
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	cfg.Engine = proxy.EngineProxylab
	srv := proxy.NewServer(h, cfg)
	srv.HTTPServer().TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	ln, err := proxy.Listen("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		Eventually(done).Should(Receive(BeNil()))
	})
	return srv, ln.Addr().String(), roots
}

// tlsClient is an http.Client for a.test at addr, speaking h2 when h2 is
// true and HTTP/1.1 only otherwise.
func tlsClient(addr string, roots *x509.CertPool, h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "a.test"},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

var _ = Describe("TLS on the own loop", func() {
	type seen struct {
		Proto, ServerName, ALPN, Remote string
		HasTLS                          bool
	}
	var (
		mu    sync.Mutex
		saw   []seen
		addr  string
		roots *x509.CertPool
	)

	BeforeEach(func() {
		mu.Lock()
		saw = nil
		mu.Unlock()
		_, addr, roots = serveOwnTLS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := seen{Proto: r.Proto, Remote: r.RemoteAddr, HasTLS: r.TLS != nil}
			if r.TLS != nil {
				s.ServerName, s.ALPN = r.TLS.ServerName, r.TLS.NegotiatedProtocol
			}
			mu.Lock()
			saw = append(saw, s)
			mu.Unlock()
			body, _ := io.ReadAll(r.Body)
			io.WriteString(w, "got "+string(body))
		}), proxy.ServerConfig{ReadHeaderTimeout: 300 * time.Millisecond})
	})

	last := func() seen {
		mu.Lock()
		defer mu.Unlock()
		Expect(saw).NotTo(BeEmpty())
		return saw[len(saw)-1]
	}

	It("should serve an HTTP/1.1 client itself, with r.TLS set and the connection kept", func() {
		c := tlsClient(addr, roots, false)
		for i := range 3 {
			resp, err := c.Post("https://a.test/", "text/plain", strings.NewReader("x"))
			Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			Expect(resp.Proto).To(Equal("HTTP/1.1"))
			Expect(string(body)).To(Equal("got x"))
			Expect(last().HasTLS).To(BeTrue(), "request %d", i)
		}
		mu.Lock()
		defer mu.Unlock()
		Expect(saw).To(HaveLen(3))
		Expect(saw[0].ServerName).To(Equal("a.test"))
		Expect(saw[0].ALPN).To(Equal("http/1.1"))
		Expect(saw[1].Remote).To(Equal(saw[0].Remote), "one kept-alive connection")
		Expect(saw[2].Remote).To(Equal(saw[0].Remote))
	})

	It("should hand a client that negotiates h2 to the HTTP/2 server", func() {
		resp, err := tlsClient(addr, roots, true).Get("https://a.test/")
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.Proto).To(Equal("HTTP/2.0"))
		Expect(string(body)).To(Equal("got "))
		Expect(last()).To(And(
			HaveField("Proto", "HTTP/2.0"), HaveField("HasTLS", true), HaveField("ALPN", "h2")))
	})

	It("should apply the framing check under TLS: Content-Length with Transfer-Encoding is a 400", func() {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "a.test", NextProtos: []string{"http/1.1"}})
		Expect(err).NotTo(HaveOccurred())
		defer c.Close()
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
		mu.Lock()
		defer mu.Unlock()
		Expect(saw).To(BeEmpty(), "the handler never saw it")
	})

	It("should answer plain HTTP on the TLS port with a 400 that says so", func() {
		c := dialRaw(addr)
		c.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(c.br, nil)
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
		Expect(string(body)).To(ContainSubstring("HTTP request to an HTTPS server"))
	})

	It("should close a connection whose handshake does not come within the header timeout", func() {
		c := dialRaw(addr)
		Expect(c.closed(5 * time.Second)).To(BeTrue())
	})
})

var _ = Describe("ServeTLS on the own loop without a certificate", func() {
	It("should fail with a message saying where the certificate goes", func() {
		srv := proxy.NewServer(http.NotFoundHandler(), proxy.ServerConfig{Engine: proxy.EngineProxylab})
		ln, err := proxy.Listen("127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.ServeTLS(ln, "", "")).To(MatchError(ContainSubstring("no certificate")))
	})
})
