package reverse_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim/server"
)

// serverCA returns a pool trusting the throwaway certificate a TLS sim
// server presents (self-signed: it is its own CA).
func serverCA(addr string) *x509.CertPool {
	GinkgoHelper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only to read the certificate
	Expect(err).NotTo(HaveOccurred())
	defer c.Close()
	pool := x509.NewCertPool()
	pool.AddCert(c.ConnectionState().PeerCertificates[0])
	return pool
}

var _ = Describe("HTTPS upstreams", func() {
	var srv *server.Server

	BeforeEach(func() {
		var err error
		srv, err = server.New(server.Config{Name: "secure1", Addr: "127.0.0.1:0", TLS: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Start()).To(Succeed())
		DeferCleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Stop(ctx)
		})
	})

	It("should proxy to an https server that the configured CA vouches for", func() {
		rp := startProxy(onePool(srv.URL()), reverse.WithUpstreamTLS(&tls.Config{RootCAs: serverCA(srv.Addr())}))
		for range 3 {
			code, _, h := rp.get("/")
			Expect(code).To(Equal(200))
			Expect(h.Get("X-Sim-Server")).To(Equal("secure1"))
			Expect(h.Get("Via")).To(Equal("1.1 proxylab"))
		}
	})

	It("should answer 502 when the server's certificate is not from the configured CA", func() {
		_, other := selfSigned("other.test")
		rp := startProxy(onePool(srv.URL()), reverse.WithUpstreamTLS(&tls.Config{RootCAs: other}))
		code, _, h := rp.get("/")
		Expect(code).To(Equal(502))
		Expect(h.Get("X-Sim-Server")).To(BeEmpty())
		Expect(srv.Stats().Received).To(BeZero(), "nothing reached the server")
	})
})
