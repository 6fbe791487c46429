package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/proxylab/proxylab/sim/server"
)

// selfSignedFiles writes a throwaway certificate for 127.0.0.1 and its key
// as PEM files in dir.
func selfSignedFiles(dir string) (certFile, keyFile string) {
	GinkgoHelper()
	cert, err := server.SelfSigned("proxylab-test", "127.0.0.1")
	Expect(err).NotTo(HaveOccurred())
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	Expect(err).NotTo(HaveOccurred())
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	Expect(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)).To(Succeed())
	Expect(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)).To(Succeed())
	return certFile, keyFile
}

// startProxy runs the built binary with args (a proxy command) until the
// spec ends and returns the address its "listening on https://" line names.
func startProxy(args ...string) string {
	GinkgoHelper()
	s, err := gexec.Start(exec.Command(binary, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		s.Interrupt()
		Eventually(s).WithTimeout(10 * time.Second).Should(gexec.Exit())
	})
	listening := regexp.MustCompile(`listening on https://(\S+)`)
	Eventually(s.Out).WithTimeout(10 * time.Second).Should(Say(listening.String()))
	return string(listening.FindSubmatch(s.Out.Contents())[1])
}

var _ = Describe("proxy reverse --tls-cert", func() {
	It("should answer HTTP/2 to clients that negotiate it, and HTTP/1.1 to the others", func() {
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "from upstream")
		}))
		DeferCleanup(upstream.Close)
		certFile, keyFile := selfSignedFiles(GinkgoT().TempDir())

		addr := startProxy("proxy", "reverse", "--listen", "127.0.0.1:0", "--upstream", upstream.URL,
			"--tls-cert", certFile, "--tls-key", keyFile)

		for _, h2 := range []bool{true, false} {
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: h2}
			if !h2 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
			}
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := client.Get("https://" + addr + "/")
			Expect(err).NotTo(HaveOccurred(), "h2 %v", h2)
			body, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Body.Close()).To(Succeed())
			Expect(string(body)).To(Equal("from upstream"))
			if h2 {
				Expect(resp.Proto).To(Equal("HTTP/2.0"))
			} else {
				Expect(resp.Proto).To(Equal("HTTP/1.1"))
			}
			tr.CloseIdleConnections()
		}
	})
})

var _ = Describe("proxy forward --tls-cert", func() {
	It("should be an HTTPS proxy: absolute-form requests and CONNECT tunnels over TLS, credentials checked", func() {
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "from plain origin; proxy auth forwarded: "+r.Header.Get("Proxy-Authorization"))
		}))
		DeferCleanup(plain.Close)
		secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "from TLS origin")
		}))
		DeferCleanup(secure.Close)
		certFile, keyFile := selfSignedFiles(GinkgoT().TempDir())
		_, securePort, err := net.SplitHostPort(secure.Listener.Addr().String())
		Expect(err).NotTo(HaveOccurred())

		addr := startProxy("proxy", "forward", "--listen", "127.0.0.1:0", "--auth", "alice:s3cret",
			"--allow-net", "127.0.0.0/8", "--connect-ports", securePort, "--tls-cert", certFile, "--tls-key", keyFile)

		pem, err := os.ReadFile(certFile)
		Expect(err).NotTo(HaveOccurred())
		roots := x509.NewCertPool()
		Expect(roots.AppendCertsFromPEM(pem)).To(BeTrue())
		roots.AddCert(secure.Certificate())
		client := func(user string) *http.Client {
			proxyURL, err := url.Parse("https://" + user + addr)
			Expect(err).NotTo(HaveOccurred())
			tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: roots}}
			DeferCleanup(tr.CloseIdleConnections)
			return &http.Client{Transport: tr, Timeout: 10 * time.Second}
		}
		get := func(c *http.Client, u string) (int, string) {
			resp, err := c.Get(u)
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			return resp.StatusCode, string(body)
		}

		code, body := get(client("alice:s3cret@"), plain.URL+"/")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(Equal("from plain origin; proxy auth forwarded: "))
		code, _ = get(client(""), plain.URL+"/")
		Expect(code).To(Equal(http.StatusProxyAuthRequired))
		code, body = get(client("alice:s3cret@"), secure.URL+"/")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(Equal("from TLS origin"))
		_, err = client("").Get(secure.URL + "/")
		Expect(err).To(MatchError(ContainSubstring("Proxy Authentication Required")))
	})
})

var _ = Describe("conformance over TLS", func() {
	It("should probe the built-in proxies over TLS with --self --tls", func() {
		s := proxylab("conformance", "--self", "--tls", "--case", "1,6,26,28")
		Expect(s.ExitCode()).To(Equal(0), string(s.Out.Contents()))
		Expect(s.Out).To(Say(`conformance reverse: [1-9]\d* passed, 0 failed`))
		Expect(s.Out).To(Say(`conformance forward: [1-9]\d* passed, 0 failed`))
	})

	It("should probe an https:// proxy, checking its certificate against --cacert", func() {
		certFile, keyFile := selfSignedFiles(GinkgoT().TempDir())
		// The recording origin's address, free when picked: the proxy routes
		// to it before conformance listens there.
		ln, err := net.Listen("tcp", "127.0.9.1:0")
		Expect(err).NotTo(HaveOccurred())
		origin := ln.Addr().String()
		Expect(ln.Close()).To(Succeed())
		addr := startProxy("proxy", "reverse", "--listen", "127.0.0.1:0", "--upstream", "http://"+origin,
			"--tls-cert", certFile, "--tls-key", keyFile)

		s := proxylab("conformance", "--reverse", "https://"+addr, "--origin", origin, "--cacert", certFile, "--case", "6")
		Expect(s.ExitCode()).To(Equal(0), string(s.Out.Contents()))
		Expect(s.Out).To(Say(`conformance reverse: [1-9]\d* passed, 0 failed`))
		s = proxylab("conformance", "--reverse", "https://"+addr, "--origin", origin, "--case", "6")
		Expect(s.ExitCode()).To(Equal(1))
		Expect(s.Out).To(Say(`certificate signed by unknown authority`))
	})

	DescribeTable("should refuse TLS flags that do not fit",
		func(args []string, says string) {
			s := proxylab(append([]string{"conformance"}, args...)...)
			Expect(s.ExitCode()).To(Equal(2))
			Expect(s.Err).To(Say(says))
		},
		Entry("--tls without --self", []string{"--reverse", "http://127.0.0.1:1", "--tls"}, "--tls goes with --self"),
		Entry("--insecure with http://", []string{"--reverse", "http://127.0.0.1:1", "--insecure"}, "go with an https:// proxy URL"),
		Entry("a scheme that is neither", []string{"--forward", "socks5://127.0.0.1:1"}, "want http://host:port or https://host:port"),
	)
})
