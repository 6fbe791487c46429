package forward_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("the client-side server settings", func() {
	It("should carry the header timeout and the body-read and write idle deadlines", func() {
		cfg, err := forward.ParseConfig([]byte(`
open: true
timeouts: {client_header: 2s, client_body_idle: 3s, client_write_idle: 4s}
`))
		Expect(err).NotTo(HaveOccurred())
		p, err := forward.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(p.Close)
		sc := p.ServerConfig()
		Expect(sc.ReadHeaderTimeout).To(Equal(2 * time.Second))
		Expect(sc.BodyReadIdleTimeout).To(Equal(3 * time.Second))
		Expect(sc.WriteIdleTimeout).To(Equal(4 * time.Second))
	})
})
