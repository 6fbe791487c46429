package forward_test

import (
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("ParseConfig", func() {
	It("should read every field of the YAML contract", func() {
		cfg, err := forward.ParseConfig([]byte(`
auth: [{user: alice, pass: s3cret}]
allow: ["*.example.com", "server1:80"]
deny: ["10.0.0.0/8"]
clients: {allow: [127.0.0.0/8], deny: [127.0.0.9]}
allow_nets: [127.0.0.0/8]
connect_ports: [443, 8443]
parent:
  - {url: "http://127.0.0.1:3129", user: up, pass: pw, match: ["*.corp"]}
connect_to: {"server1:80": "127.0.1.1:41234"}
limits: {max_conns: 100, max_tunnels: 10, rate_per_client: 50}
timeouts: {dial: 2s, client_header: 5s, tunnel_idle: 1m, response_header: 250ms}
via: edge1
`))
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.Auth).To(Equal([]forward.Credential{{User: "alice", Pass: "s3cret"}}))
		Expect(cfg.Clients.Deny).To(Equal([]string{"127.0.0.9"}))
		Expect(cfg.ConnectPorts).To(Equal([]uint16{443, 8443}))
		Expect(cfg.Parent[0].Match).To(Equal([]string{"*.corp"}))
		Expect(cfg.ConnectTo).To(HaveKeyWithValue("server1:80", "127.0.1.1:41234"))
		Expect(cfg.Limits.RatePerClient).To(BeEquivalentTo(50))
		Expect(cfg.Timeouts.ResponseHeader).To(Equal(250 * time.Millisecond))
		Expect(cfg.Timeouts.TunnelIdle).To(Equal(time.Minute))
		Expect(cfg.Via).To(Equal("edge1"))
	})

	It("should accept the shipped example", func() {
		data, err := os.ReadFile("testdata/forward.yaml")
		Expect(err).NotTo(HaveOccurred())
		cfg, err := forward.ParseConfig(data)
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.Via).To(Equal("edge1"))
		Expect(cfg.Limits.MaxBodyBytes).To(Equal(forward.ByteSize(1 << 20)))
	})

	It("should name the line of an unknown field", func() {
		_, err := forward.ParseConfig([]byte("open: true\nallow_net: [127.0.0.0/8]\n"))
		Expect(err).To(MatchError(ContainSubstring("[2:1]")))
	})

	It("should refuse an open proxy", func() {
		_, err := forward.ParseConfig([]byte("allow_nets: [127.0.0.0/8]\n"))
		Expect(err).To(MatchError(forward.ErrOpenProxy))
	})
})
