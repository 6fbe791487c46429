package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/server"
)

var _ = Describe("A TLS server", func() {
	It("should serve HTTPS with a throwaway certificate and crash and recover like any other", func(ctx SpecContext) {
		srv, err := server.New(server.Config{Name: "secure", Addr: "127.0.0.1:0", TLS: true, Behaviour: server.Behaviour{Size: server.MustParseSizeMix("100")}})
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Start()).To(Succeed())
		DeferCleanup(func() { _ = srv.Stop(context.Background()) })
		Expect(srv.URL()).To(HavePrefix("https://"))

		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // throwaway certificate
		DeferCleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr}
		get := func() (*http.Response, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/x", nil)
			return c.Do(req)
		}
		resp, err := get()
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.TLS).NotTo(BeNil())
		Expect(resp.Header.Get(server.ServerHeader)).To(Equal("secure"))
		Expect(body).To(HaveLen(100))

		// A plain-HTTP client is refused by the TLS listener.
		plain, err := http.Get(strings.Replace(srv.URL(), "https://", "http://", 1) + "/x")
		if err == nil {
			Expect(plain.StatusCode).To(Equal(http.StatusBadRequest))
			plain.Body.Close()
		}

		srv.Crash()
		tr.CloseIdleConnections()
		_, err = get()
		Expect(err).To(HaveOccurred())
		Expect(srv.Recover()).To(Succeed())
		resp, err = get()
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
	})
})
