package reverse_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/reverse"
)

// selfSigned returns a certificate for the given names and a pool trusting it.
func selfSigned(names ...string) (tls.Certificate, *x509.CertPool) {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	leaf, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

var _ = Describe("TLS clients", func() {
	var (
		s1     *upstream
		client *http.Client
		addr   string
	)

	BeforeEach(func() {
		s1 = startUpstream("server1")
		cfg := reverse.Config{
			Routes: []reverse.RouteConfig{{Host: "a.test", Path: "/", Pool: "web"}},
			Pools:  []reverse.PoolConfig{{Name: "web", Servers: []reverse.ServerConfig{{Name: "server1", URL: s1.url}}}},
		}
		p, err := reverse.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		cert, roots := selfSigned("a.test", "b.test")
		srv := proxy.NewServer(p, cfg.ServerConfig())
		srv.HTTPServer().TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln, err := proxy.Listen("127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr = ln.Addr().String()
		done := make(chan error, 1)
		go func() { done <- srv.ServeTLS(ln, "", "") }()
		tr := &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr) // every name resolves to the proxy
			},
		}
		client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
		DeferCleanup(func() {
			tr.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			Eventually(done).Should(Receive(BeNil()))
			p.Close()
		})
	})

	for _, h2 := range []bool{true, false} {
		proto, via := "HTTP/2.0", "2 proxylab"
		if !h2 {
			proto, via = "HTTP/1.1", "1.1 proxylab"
		}
		When("the client speaks "+proto, func() {
			BeforeEach(func() {
				if !h2 {
					tr := client.Transport.(*http.Transport)
					tr.ForceAttemptHTTP2 = false
					tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
					tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
				}
			})

			It("should serve it over TLS and tell the upstream the scheme was https", func() {
				resp, err := client.Get("https://a.test/")
				Expect(err).NotTo(HaveOccurred())
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				Expect(resp.Proto).To(Equal(proto))
				Expect(string(body)).To(Equal("server1"))
				r, _ := s1.lastRequest()
				Expect(r.Header.Get("X-Forwarded-Proto")).To(Equal("https"))
				Expect(r.Header.Get("Via")).To(Equal(via))
			})

			It("should answer 421 when the Host is not the TLS server name and no route takes it", func() {
				req, _ := http.NewRequest("GET", "https://b.test/", nil)
				req.Host = "c.test"
				resp, err := client.Do(req)
				Expect(err).NotTo(HaveOccurred())
				resp.Body.Close()
				Expect(resp.StatusCode).To(Equal(http.StatusMisdirectedRequest))
			})
		})
	}
})

var _ = Describe("WebSocket over TLS", func() {
	It("should carry a wss:// WebSocket both ways through the own loop", func(ctx SpecContext) {
		ws := startHandler(http.HandlerFunc(wsEcho), nil)
		cfg := onePool("http://" + ws)
		p, err := reverse.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(p.Close)
		cert, roots := selfSigned("a.test")
		srv := proxy.NewServer(p, cfg.ServerConfig())
		srv.HTTPServer().TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ln, err := proxy.Listen("127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		done := make(chan error, 1)
		go func() { done <- srv.ServeTLS(ln, "", "") }()
		DeferCleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			Eventually(done).Should(Receive(BeNil()))
		})
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "a.test", NextProtos: []string{"http/1.1"}},
			TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		}
		DeferCleanup(tr.CloseIdleConnections)
		c, resp, err := websocket.Dial(ctx, "wss://"+ln.Addr().String()+"/ws",
			&websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
		Expect(err).NotTo(HaveOccurred())
		defer c.CloseNow()
		Expect(resp.StatusCode).To(Equal(http.StatusSwitchingProtocols))
		for _, m := range []string{"ping", "pong"} {
			Expect(c.Write(ctx, websocket.MessageText, []byte(m))).To(Succeed())
			_, msg, err := c.Read(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(msg)).To(Equal(m))
		}
		c.Close(websocket.StatusNormalClosure, "")
	}, SpecTimeout(10*time.Second))
})
