package reverse_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/reverse"
)

var _ = Describe("the client-side server settings", func() {
	It("should carry the body-read and write idle deadlines from the timeouts", func() {
		cfg, err := reverse.ParseConfig([]byte(`
pools: [{name: app, servers: [{name: s1, url: "http://127.0.0.1:1"}]}]
routes: [{pool: app}]
timeouts: {client_header: 2s, client_body: 30s, client_body_idle: 3s, client_write_idle: -1s}
`))
		Expect(err).NotTo(HaveOccurred())
		sc := cfg.ServerConfig()
		Expect(sc.ReadHeaderTimeout).To(Equal(2 * time.Second))
		Expect(sc.ReadTimeout).To(Equal(30 * time.Second))
		Expect(sc.BodyReadIdleTimeout).To(Equal(3 * time.Second))
		Expect(sc.WriteIdleTimeout).To(BeNumerically("<", 0), "negative: none")
	})

	It("should leave them to the server's defaults when unset", func() {
		cfg, err := reverse.ParseConfig([]byte(`
pools: [{name: app, servers: [{name: s1, url: "http://127.0.0.1:1"}]}]
routes: [{pool: app}]
`))
		Expect(err).NotTo(HaveOccurred())
		sc := cfg.ServerConfig().WithDefaults()
		Expect(sc.BodyReadIdleTimeout).To(Equal(60 * time.Second))
		Expect(sc.WriteIdleTimeout).To(Equal(60 * time.Second))
	})
})
