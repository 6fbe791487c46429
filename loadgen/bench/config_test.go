package bench

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Config", func() {
	DescribeTable("Validate",
		func(cfg Config, want string) {
			err := cfg.Validate()
			if want == "" {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		// The zero Config is the standard run: every default applies.
		Entry("zero config", Config{}, ""),
		// A forward proxy already running is given with the proxy+ prefix.
		Entry("forward target", Config{Targets: []string{"proxy+http://127.0.0.1:3128"}}, ""),
		// Durations are never negative; zero means the default.
		Entry("negative duration", Config{Duration: -1}, "duration -1ns: want a positive duration"),
		// Only the two built-in proxies exist.
		Entry("unknown built-in", Config{Builtins: []string{"socks"}}, `built-in "socks": want "reverse" or "forward"`),
		// Peers come from the catalogue, so their templates exist.
		Entry("unknown peer", Config{Peers: []string{"envoy"}}, `peer "envoy": want one of`),
		// The same peer twice would start two copies side by side.
		Entry("duplicate peer", Config{Peers: []string{"nginx", "nginx"}}, `peer "nginx" given twice`),
		// bench talks to loopback only.
		Entry("target off loopback", Config{Targets: []string{"http://10.0.0.1:8080/"}}, "bench only talks to loopback"),
		// Only http:// URLs can be loaded with the HTTP/1.1 client.
		Entry("target with another scheme", Config{Targets: []string{"https://127.0.0.1:8443/"}}, "want http://HOST:PORT/path"),
		// The backend is one of two kinds.
		Entry("unknown backend", Config{Backend: "apache"}, `backend "apache": want "sim" or "nginx"`),
		// The backend listens on loopback too.
		Entry("backend off loopback", Config{BackendAddr: "0.0.0.0:9000"}, "want a loopback address"),
		// Proxies listen on loopback.
		Entry("host off loopback", Config{Host: "192.168.1.1"}, `host "192.168.1.1": want a loopback address`),
		// The CONNECT figure opens every stream at once; a bound keeps it sane.
		Entry("too many tunnel streams", Config{TunnelStreams: 1000}, "tunnel streams 1000: want 1 to 256"),
		// Every problem is reported, not only the first.
		Entry("two problems at once", Config{Reps: -1, Body: -5}, "body -5"),
	)

	It("should apply the defaults in one place", func() {
		n := Config{}.normalized()
		Expect(n.Duration).To(Equal(DefaultDuration))
		Expect(n.Warmup).To(Equal(DefaultWarmup))
		Expect(n.Connections).To(Equal(DefaultConnections))
		Expect(n.Reps).To(Equal(DefaultReps))
		Expect(n.Builtins).To(Equal([]string{Reverse, Forward}))
		Expect(n.Backend).To(Equal(BackendSim))
		Expect(n.BackendAddr).To(Equal("127.0.0.1:0"))
		Expect(Config{Warmup: -1}.normalized().Warmup).To(BeZero(), "a negative warm-up means none")
	})
})
