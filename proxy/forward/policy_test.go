package forward_test

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

var _ = Describe("Proxy policy", func() {
	var (
		dialer   *stubDialer
		resolver *stubResolver
	)

	BeforeEach(func() {
		dialer = &stubDialer{redirect: map[string]string{}}
		resolver = newStubResolver()
	})

	When("auth is configured", func() {
		var (
			server1 *origin
			px      *running
		)
		BeforeEach(func() {
			server1 = startOrigin("server1")
			px = startProxy(forward.Config{
				Auth:      []forward.Credential{{User: "alice", Pass: "s3cret"}},
				AllowNets: loopback,
			}, forward.WithDialer(dialer), forward.WithResolver(resolver))
		})

		DescribeTable("should answer 407 and dial nothing",
			func(method, target, authz string) {
				req := method + " " + target + " HTTP/1.1\r\nHost: " + server1.addr() + "\r\n"
				if authz != "" {
					req += "Proxy-Authorization: " + authz + "\r\n"
				}
				resp, _ := rawRequest(px.addr, req+"\r\n")
				Expect(resp.StatusCode).To(Equal(http.StatusProxyAuthRequired))
				Expect(resp.Header.Get("Proxy-Authenticate")).To(Equal(`Basic realm="proxylab"`))
				Expect(dialer.calls()).To(BeEmpty())
			},
			// No credentials at all.
			Entry(nil, "GET", "http://server1.test/", ""),
			// A wrong password.
			Entry(nil, "GET", "http://server1.test/", basic("alice", "wrong")),
			// An unknown user.
			Entry(nil, "GET", "http://server1.test/", basic("mallory", "s3cret")),
			// Not Basic.
			Entry(nil, "GET", "http://server1.test/", "Bearer abc"),
			// Broken base64.
			Entry(nil, "GET", "http://server1.test/", "Basic !!!"),
			// CONNECT is guarded the same way.
			Entry(nil, "CONNECT", "server1.test:443", ""),
		)

		It("should serve with the right credentials and not forward them", func() {
			c := client(px.urlWith("alice", "s3cret"))
			resp, body := get(c, "http://"+server1.addr()+"/ok")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(body).To(Equal("server1 GET /ok"))
			Expect(resp.Header.Get("X-Seen-Proxy-Authorization")).To(BeEmpty())
		})

		It("should switch credentials at run time with SetAuth", func() {
			Expect(px.p.SetAuth([]forward.Credential{{User: "bob", Pass: "pw"}})).To(Succeed())
			resp, _ := get(client(px.urlWith("alice", "s3cret")), "http://"+server1.addr()+"/")
			Expect(resp.StatusCode).To(Equal(http.StatusProxyAuthRequired))
			resp, _ = get(client(px.urlWith("bob", "pw")), "http://"+server1.addr()+"/")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
		})

		It("should refuse SetAuth(nil) because that would open the proxy", func() {
			Expect(px.p.SetAuth(nil)).To(MatchError(forward.ErrOpenProxy))
			Expect(px.p.Config().Auth).To(HaveLen(1))
		})
	})

	When("the SSRF guard is on (no allow_nets)", func() {
		var px *running
		BeforeEach(func() {
			resolver.set("internal.test", []string{"127.0.0.1"})
			resolver.set("metadata.test", []string{"169.254.169.254"})
			resolver.set("mixed.test", []string{"10.0.0.5"})
			px = startProxy(forward.Config{Open: true, ConnectPorts: []uint16{443, 80}},
				forward.WithDialer(dialer), forward.WithResolver(resolver))
		})

		DescribeTable("should answer 403 and dial nothing",
			func(authority string) {
				resp, body := rawRequest(px.addr, "GET http://"+authority+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
				Expect(resp.StatusCode).To(Equal(http.StatusForbidden), body)
				Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("destination_ip_prohibited"))
				resp, body = rawRequest(px.addr, "CONNECT "+authority+":443 HTTP/1.1\r\nHost: x\r\n\r\n")
				Expect(resp.StatusCode).To(Equal(http.StatusForbidden), body)
				Expect(dialer.calls()).To(BeEmpty())
			},
			// Loopback.
			Entry(nil, "127.0.0.1"),
			Entry(nil, "[::1]"),
			// RFC 1918.
			Entry(nil, "10.0.0.1"),
			Entry(nil, "172.16.0.1"),
			Entry(nil, "192.168.0.1"),
			// Cloud metadata.
			Entry(nil, "169.254.169.254"),
			Entry(nil, "[fe80::1]"),
			// CGNAT.
			Entry(nil, "100.64.0.1"),
			// ULA, including AWS's IPv6 metadata address.
			Entry(nil, "[fc00::1]"),
			Entry(nil, "[fd00:ec2::254]"),
			// Unspecified reaches the local host.
			Entry(nil, "0.0.0.0"),
			// IPv4 embedded in IPv6.
			Entry(nil, "[::ffff:127.0.0.1]"),
			Entry(nil, "[64:ff9b::7f00:1]"),
			Entry(nil, "[2002:7f00:1::]"),
			Entry(nil, "[2001::7f00:1]"),
			// Odd IPv4 spellings of 127.0.0.1.
			Entry(nil, "2130706433"),
			Entry(nil, "0x7f000001"),
			Entry(nil, "127.1"),
			Entry(nil, "0177.0.0.1"),
			// Multicast and broadcast.
			Entry(nil, "224.0.0.1"),
			Entry(nil, "255.255.255.255"),
			// Names that resolve to internal addresses.
			Entry(nil, "internal.test"),
			Entry(nil, "metadata.test"),
			Entry(nil, "mixed.test"),
		)

		It("should dial the vetted address of a public name, and resolve it once (DNS rebinding)", func() {
			server1 := startOrigin("server1")
			resolver.set("rebind.test", []string{"93.184.216.34"}, []string{"127.0.0.1"})
			dialer.mu.Lock()
			dialer.redirect["93.184.216.34:80"] = server1.addr()
			dialer.mu.Unlock()

			resp, body := rawRequest(px.addr, "GET http://rebind.test/ HTTP/1.1\r\nHost: rebind.test\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusOK), body)
			Expect(resp.Header.Get("X-Seen-Host")).To(Equal("rebind.test"))
			Expect(resolver.callsFor("rebind.test")).To(Equal(1))
			Expect(dialer.calls()).To(Equal([]string{"93.184.216.34:80"}))

			resp, _ = rawRequest(px.addr, "GET http://rebind.test/ HTTP/1.1\r\nHost: rebind.test\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusForbidden), "the next resolution is checked again")
			Expect(dialer.calls()).To(HaveLen(1))
		})

		It("should answer 502 with dns_error for a name that does not resolve", func() {
			resp, _ := rawRequest(px.addr, "GET http://nowhere.test/ HTTP/1.1\r\nHost: x\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusBadGateway))
			Expect(resp.Header.Get("Proxy-Status")).To(ContainSubstring("dns_error"))
			Expect(dialer.calls()).To(BeEmpty())
		})
	})

	When("destination and client ACLs are configured", func() {
		var (
			server1 *origin
			px      *running
		)
		BeforeEach(func() {
			server1 = startOrigin("server1")
			resolver.set("blocked.internal.test", []string{"93.184.216.34"})
			resolver.set("allowed.test", []string{"93.184.216.35"})
			resolver.set("other.test", []string{"93.184.216.36"})
			resolver.set("cidr.test", []string{"198.51.100.7"})
			px = startProxy(forward.Config{
				Allow:     []string{"allowed.test", "127.0.0.1", "*.internal.test", "93.184.216.36/32"},
				Deny:      []string{"*.internal.test", "93.184.216.36"},
				AllowNets: loopback,
			}, forward.WithDialer(dialer), forward.WithResolver(resolver))
		})

		DescribeTable("should refuse with 403 and dial nothing",
			func(target string) {
				resp, _ := rawRequest(px.addr, "GET http://"+target+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
				Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
				Expect(dialer.calls()).To(BeEmpty())
			},
			// Deny wins over allow.
			Entry(nil, "blocked.internal.test"),
			// Not in the allow list.
			Entry(nil, "unlisted.test"),
			// Allowed by CIDR but denied by the resolved address.
			Entry(nil, "other.test"),
		)

		It("should serve an allowed destination", func() {
			resp, _ := rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
		})

		It("should change the ACL at run time with SetACL", func() {
			Expect(px.p.SetACL([]string{"*"}, []string{"127.0.0.1"})).To(Succeed())
			resp, _ := rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
			Expect(px.p.Config().Deny).To(Equal([]string{"127.0.0.1"}))
		})

		It("should keep the old policy when Swap gets a bad config", func() {
			cfg := px.p.Config()
			cfg.Allow = []string{"bad/pattern/"}
			cfg.AllowNets = []string{"not-a-cidr"}
			err := px.p.Swap(cfg)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(And(ContainSubstring("allow[0]"), ContainSubstring("allow_nets[0]")))
			resp, _ := rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
		})

		It("should refuse a client outside clients.allow", func() {
			cfg := px.p.Config()
			cfg.Clients.Deny = []string{"127.0.0.0/8"}
			Expect(px.p.Swap(cfg)).To(Succeed())
			resp, body := rawRequest(px.addr, "GET http://"+server1.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
			Expect(body).To(ContainSubstring("client 127.0.0.1 is not allowed"))
		})
	})

	When("a CONNECT target is checked", func() {
		var px *running
		BeforeEach(func() {
			px = startProxy(forward.Config{Open: true, AllowNets: loopback},
				forward.WithDialer(dialer), forward.WithResolver(resolver))
		})

		DescribeTable("should refuse a port outside connect_ports with 403",
			func(port int) {
				resp, _ := rawRequest(px.addr, "CONNECT 127.0.0.1:"+strconv.Itoa(port)+" HTTP/1.1\r\nHost: x\r\n\r\n")
				Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
				Expect(dialer.calls()).To(BeEmpty())
			},
			// SSH.
			Entry(nil, 22),
			// SMTP: the classic open-proxy spam abuse.
			Entry(nil, 25),
			// Redis.
			Entry(nil, 6379),
		)

		DescribeTable("should answer 400 to a malformed target",
			func(target string) {
				resp, _ := rawRequest(px.addr, "CONNECT "+target+" HTTP/1.1\r\nHost: x\r\n\r\n")
				Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
				Expect(dialer.calls()).To(BeEmpty())
			},
			// No port.
			Entry(nil, "example.com"),
			// Userinfo.
			Entry(nil, "user@example.com:443"),
			// A path.
			Entry(nil, "example.com:443/x"),
		)

		It("should refuse to dial its own listener", func() {
			ap := netip.MustParseAddrPort(px.addr)
			cfg := px.p.Config()
			cfg.ConnectPorts = []uint16{ap.Port()}
			Expect(px.p.Swap(cfg)).To(Succeed())
			resp, body := rawRequest(px.addr, "CONNECT "+px.addr+" HTTP/1.1\r\nHost: x\r\n\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
			Expect(body).To(ContainSubstring("own listener"))
			Expect(dialer.calls()).To(BeEmpty())
		})
	})
})

var _ = Describe("New", func() {
	DescribeTable("should apply the open-proxy rule",
		func(cfg forward.Config, ok bool) {
			p, err := forward.New(cfg)
			if ok {
				Expect(err).NotTo(HaveOccurred())
				Expect(p.Close()).To(Succeed())
				Expect(p.Close()).To(Succeed(), "Close is idempotent")
				return
			}
			Expect(err).To(MatchError(forward.ErrOpenProxy))
		},
		// The zero config would be an open proxy.
		Entry(nil, forward.Config{}, false),
		// A deny list alone still serves everyone everywhere else.
		Entry(nil, forward.Config{Deny: []string{"*.internal"}}, false),
		// Open on purpose.
		Entry(nil, forward.Config{Open: true}, true),
		// Auth guards it.
		Entry(nil, forward.Config{Auth: []forward.Credential{{User: "u", Pass: "p"}}}, true),
		// A client allow-list guards it.
		Entry(nil, forward.Config{Clients: forward.ClientACL{Allow: []string{"127.0.0.0/8"}}}, true),
		// A destination allow-list guards it.
		Entry(nil, forward.Config{Allow: []string{"example.com"}}, true),
	)

	It("should report every problem of a bad config at once", func() {
		_, err := forward.New(forward.Config{
			Open:         true,
			Auth:         []forward.Credential{{User: ""}},
			Deny:         []string{""},
			ConnectPorts: []uint16{0},
			Parent:       []forward.Parent{{URL: "ftp://x"}},
			ConnectTo:    map[string]string{"server1": "127.0.0.1:1"},
		})
		Expect(err).To(HaveOccurred())
		for _, want := range []string{"auth[0]", "deny[0]", "connect_ports[0]", "parent[0].url", "connect_to"} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})

	It("should fill defaults and report them through Config", func() {
		p, err := forward.New(forward.Config{Open: true})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(p.Close)
		cfg := p.Config()
		Expect(cfg.ConnectPorts).To(Equal([]uint16{443}))
		Expect(cfg.Timeouts.Dial).To(Equal(forward.DefaultDialTimeout))
		Expect(cfg.Timeouts.TunnelIdle).To(Equal(forward.DefaultTunnelIdle))
		Expect(cfg.Via).To(HavePrefix("proxylab-"))
	})
})
