package socket_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/socket"
)

var _ = Describe("Conn", func() {
	It("should wrap only TCP connections, keeping the TCP connection reachable", func() {
		a, b := tcpPair()
		w := socket.Wrap(a)
		Expect(w).To(BeAssignableToTypeOf(&socket.Conn{}))
		Expect(w.(*socket.Conn).NetConn()).To(BeIdenticalTo(a))
		Expect(socket.New(w).Conn()).To(BeIdenticalTo(a), "a Stream on a Conn uses the same socket")

		_, err := b.Write([]byte("ping"))
		Expect(err).NotTo(HaveOccurred())
		buf := make([]byte, 8)
		n, err := w.Read(buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(buf[:n])).To(Equal("ping"))

		p1, p2 := net.Pipe()
		DeferCleanup(p1.Close)
		DeferCleanup(p2.Close)
		Expect(socket.Wrap(p1)).To(BeIdenticalTo(p1))
	})

	It("should carry TLS (and HTTP over it) when the listener under tls.NewListener wraps", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(w, r.Body)
		}))
		_ = srv.Listener.Close()
		srv.Listener = socket.Listener(ln)
		var under atomic.Value
		srv.Config.ConnState = func(c net.Conn, _ http.ConnState) {
			if tc, ok := c.(*tls.Conn); ok {
				under.Store(fmt.Sprintf("%T", tc.NetConn()))
			}
		}
		srv.StartTLS()
		DeferCleanup(srv.Close)

		body := bytes.Repeat([]byte("x"), 1<<20)
		resp, err := srv.Client().Post(srv.URL, "application/octet-stream", bytes.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		got, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Body.Close()).To(Succeed())
		Expect(got).To(Equal(body))
		Expect(under.Load()).To(Equal("*socket.Conn"))
	})
})
