package loadgen_test

import (
	"context"
	"net"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
)

// The fast path writes a request on a reused connection from inside the read
// that waits for its response (fastConn.Read); these specs cover the cases
// where it must not, or cannot, do it in one go.
var _ = Describe("HTTPDoer on a reused connection", func() {
	It("should send a body larger than the socket buffer whole", func(ctx SpecContext) {
		// 16 MiB is more than a loopback socket's send buffer, so one
		// write(2) takes only part of it and the rest goes the usual way.
		body := []byte(strings.Repeat("b", 16<<20))
		s := newScripted(func(c net.Conn, _ int, _ string) bool {
			write(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			return true
		})
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), Method: "POST", Body: body, Timeout: 10 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		for range 3 {
			res := d.Do(ctx, loadgen.Slot{})
			Expect(res.Err).To(BeEmpty())
			Expect(res.Status).To(Equal(200))
		}
		Expect(s.accepted.Load()).To(BeEquivalentTo(1))
		for range 3 {
			var req string
			Eventually(s.requests).Should(Receive(&req))
			Expect(req).To(HaveSuffix("\r\n\r\n" + string(body)))
		}
	}, SpecTimeout(30*time.Second))

	It("should still write the request when the server sent more than the last response", func(ctx SpecContext) {
		// The first answer carries a second response nobody asked for yet:
		// the next request finds it buffered, so its bytes must be written
		// at once, not left for a read that never happens.
		s := newScripted(func(c net.Conn, n int, _ string) bool {
			if n == 1 {
				write(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nBB")
				return true
			}
			write(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nCCC")
			return true
		})
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), Timeout: 2 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		var sizes []int64
		for range 3 {
			res := d.Do(ctx, loadgen.Slot{})
			Expect(res.Err).To(BeEmpty())
			sizes = append(sizes, res.Bytes)
		}
		Expect(sizes).To(Equal([]int64{1, 2, 3}))
		for range 3 {
			Eventually(s.requests).Should(Receive())
		}
	})

	It("should keep working over a connection from a custom dialer", func(ctx SpecContext) {
		// A wrapped net.Conn has no raw socket: requests are written, then
		// read, the ordinary way.
		s := newScripted(func(c net.Conn, _ int, _ string) bool {
			write(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return true
		})
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			return wrappedConn{c}, err
		}
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), Timeout: 2 * time.Second}, loadgen.WithDialer(dial))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		for range 3 {
			res := d.Do(ctx, loadgen.Slot{})
			Expect(res.Err).To(BeEmpty())
			Expect(res.Status).To(Equal(200))
		}
		Expect(s.accepted.Load()).To(BeEquivalentTo(1))
	})

	It("should say timeout when the server stops answering on a reused connection", func(ctx SpecContext) {
		s := newScripted(func(c net.Conn, n int, _ string) bool {
			if n == 1 {
				write(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
			return true // then reads on without answering
		})
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), Timeout: 300 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		Expect(d.Do(ctx, loadgen.Slot{}).Status).To(Equal(200))
		res := d.Do(ctx, loadgen.Slot{})
		Expect(res.Err).To(Equal(loadgen.ErrTimeout))
		Expect(res.Status).To(BeZero())
	})
})

// wrappedConn hides the *net.TCPConn behind it.
type wrappedConn struct{ net.Conn }
