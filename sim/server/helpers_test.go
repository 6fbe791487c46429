package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/server"
)

// startServer starts a server on its own loopback port and stops it after the spec.
func startServer(cfg server.Config, opts ...server.Option) *server.Server {
	GinkgoHelper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.1.1:0"
	}
	s, err := server.New(cfg, opts...)
	Expect(err).NotTo(HaveOccurred())
	Expect(s.Start()).To(Succeed())
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		Expect(s.Stop(ctx)).To(Succeed())
	})
	return s
}

// newClient returns a client with its own transport, closed after the spec.
func newClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// fetch does a GET and returns the status, headers and body.
func fetch(c *http.Client, url string, header ...string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
