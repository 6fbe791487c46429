package client_test

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/client"
	"github.com/proxylab/proxylab/sim/server"
)

var _ = Describe("Client WebSockets", func() {
	It("should upgrade, have every message echoed and report 101", func(ctx SpecContext) {
		srv, err := server.New(server.Config{Name: "server1", Addr: "127.0.0.1:0"})
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Start()).To(Succeed())
		DeferCleanup(func() { _ = srv.Stop(context.Background()) })
		c := newClient(client.Config{Name: "cli1"})
		out := c.WebSocket(ctx, srv.URL()+"/ws", 3, "")
		Expect(out.ErrKind).To(Equal(client.ErrNone), out.Err)
		Expect(out.Status).To(Equal(101))
		Expect(out.Server).To(Equal("server1"))
		Expect(out.Bytes).To(BeNumerically(">", 3*len("cli1-1 message 0")-1))
	})

	It("should report a refused handshake as a status, not a transport error", func(ctx SpecContext) {
		srv, err := server.New(server.Config{Name: "server1", Addr: "127.0.0.1:0"})
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Start()).To(Succeed())
		DeferCleanup(func() { _ = srv.Stop(context.Background()) })
		c := newClient(client.Config{Name: "cli1"})
		out := c.WebSocket(ctx, strings.TrimSuffix(srv.URL(), "/")+"/not-a-socket", 1, "")
		Expect(out.ErrKind).To(Equal(client.ErrNone))
		Expect(out.Status).NotTo(Equal(101))
	})
})
