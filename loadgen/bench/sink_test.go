package bench

import (
	"context"
	"net"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("the CONNECT sink", func() {
	var addr string

	BeforeEach(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr = ln.Addr().String()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ServeSink(ctx, ln) }()
		DeferCleanup(func() {
			cancel()
			Eventually(done).Should(Receive(BeNil()))
		})
	})

	It("should count every byte of every stream, including ones shorter than the query", func(ctx SpecContext) {
		send := func(n int) {
			c, err := net.Dial("tcp", addr)
			Expect(err).NotTo(HaveOccurred())
			_, err = c.Write(make([]byte, n))
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Close()).To(Succeed())
		}
		before, err := sinkCount(ctx, addr)
		Expect(err).NotTo(HaveOccurred())
		Expect(before).To(BeZero())
		send(3) // shorter than the query: still counted
		send(tunnelBuf*2 + 7)
		Eventually(func() (int64, error) { return sinkCount(ctx, addr) }).Should(Equal(int64(3 + tunnelBuf*2 + 7)))
	})

	It("should not count the queries themselves", func(ctx SpecContext) {
		for range 3 {
			n, err := sinkCount(ctx, addr)
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(BeZero())
		}
	})
})
