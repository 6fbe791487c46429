package client_test

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/client"
)

// newOrigin starts a loopback server on port 0 that records the peer and the id it saw.
func newOrigin(h http.HandlerFunc) *httptest.Server {
	GinkgoHelper()
	srv := httptest.NewServer(h)
	DeferCleanup(srv.Close)
	return srv
}

func newClient(cfg client.Config) *client.Client {
	GinkgoHelper()
	c, err := client.New(cfg)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Close)
	return c
}

var _ = Describe("Client", func() {
	var (
		peer   atomic.Value
		gotID  atomic.Value
		origin *httptest.Server
	)

	BeforeEach(func() {
		origin = newOrigin(func(w http.ResponseWriter, r *http.Request) {
			peer.Store(r.RemoteAddr)
			gotID.Store(r.Header.Get(client.IDHeader))
			w.Header().Set(client.ServerHeader, "server1")
			_, _ = w.Write([]byte("hello"))
		})
	})

	It("should leave from its own source address and carry a unique id", func(ctx SpecContext) {
		c := newClient(client.Config{Name: "cli7", SourceIP: "127.0.2.7"})
		out := c.Do(ctx, client.Request{URL: origin.URL + "/x"})
		Expect(out.ErrKind).To(Equal(client.ErrNone))
		Expect(out.Status).To(Equal(200))
		Expect(out.Server).To(Equal("server1"))
		Expect(out.Bytes).To(BeEquivalentTo(5))
		host, _, err := net.SplitHostPort(peer.Load().(string))
		Expect(err).NotTo(HaveOccurred())
		Expect(host).To(Equal("127.0.2.7"))
		Expect(gotID.Load()).To(Equal(out.ID))
		Expect(out.ID).To(Equal("cli7-1"))
		Expect(c.Do(ctx, client.Request{URL: origin.URL}).ID).To(Equal("cli7-2"))
	})

	It("should send requests through an explicit forward proxy with credentials", func(ctx SpecContext) {
		var target, auth atomic.Value
		fwd := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			target.Store(r.RequestURI)
			auth.Store(r.Header.Get("Proxy-Authorization"))
			w.WriteHeader(204)
		})
		pu, _ := url.Parse(fwd.URL)
		pu.User = url.UserPassword("alice", "s3cret")
		c := newClient(client.Config{Name: "cli1", Proxy: pu})
		out := c.Do(ctx, client.Request{URL: "http://server1/path?q=1"})
		Expect(out.Status).To(Equal(204))
		Expect(target.Load()).To(Equal("http://server1/path?q=1"))
		Expect(auth.Load()).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))))
	})

	When("the target fails", func() {
		It("should report a refused connection", func(ctx SpecContext) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			Expect(err).NotTo(HaveOccurred())
			addr := ln.Addr().String()
			Expect(ln.Close()).To(Succeed())
			c := newClient(client.Config{Name: "cli1"})
			out := c.Do(ctx, client.Request{URL: "http://" + addr + "/"})
			Expect(out.ErrKind).To(Equal(client.ErrRefused))
			Expect(out.OK()).To(BeFalse())
		})

		It("should report a timeout when the server never answers", func(ctx SpecContext) {
			release := make(chan struct{})
			slow := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			DeferCleanup(func() { close(release) })
			c := newClient(client.Config{Name: "cli1", Timeout: 100 * time.Millisecond})
			out := c.Do(ctx, client.Request{URL: slow.URL})
			Expect(out.ErrKind).To(Equal(client.ErrTimeout))
			Expect(out.Latency).To(BeNumerically(">=", 100*time.Millisecond))
		})

		It("should report a reset or an early close when the server drops the connection", func(ctx SpecContext) {
			rst := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				_ = conn.(*net.TCPConn).SetLinger(0)
				_ = conn.Close()
			})
			c := newClient(client.Config{Name: "cli1", DisableKeepAlive: true})
			out := c.Do(ctx, client.Request{URL: rst.URL})
			Expect(out.ErrKind).To(BeElementOf(client.ErrReset, client.ErrEOF))
		})

		It("should stop when its context ends", func() {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			c := newClient(client.Config{Name: "cli1"})
			out := c.Do(ctx, client.Request{URL: origin.URL})
			Expect(out.ErrKind).To(Equal(client.ErrCanceled))
		})
	})

	DescribeTable("rejecting bad configuration with a clear message",
		func(cfg client.Config, want string) {
			_, err := client.New(cfg)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		// A client without a name cannot build request ids.
		Entry("no name", client.Config{}, "name is required"),
		// A mistyped source address must name the value and the expected form.
		Entry("bad source IP", client.Config{Name: "cli1", SourceIP: "127.0.2"}, `"127.0.2" is not an IP`),
		// A negative timeout is a typo, not "no timeout".
		Entry("negative timeout", client.Config{Name: "cli1", Timeout: -time.Second}, "negative"),
	)

	It("should classify error strings from any layer", func() {
		Expect(client.Classify(nil)).To(Equal(client.ErrNone))
		Expect(client.Classify(&net.OpError{Op: "read", Err: errString("connection reset by peer")})).To(Equal(client.ErrReset))
		Expect(client.Classify(errString("i/o timeout"))).To(Equal(client.ErrTimeout))
		Expect(client.Classify(errString("dial tcp: connect: connection refused"))).To(Equal(client.ErrRefused))
	})
})

type errString string

func (e errString) Error() string { return string(e) }
