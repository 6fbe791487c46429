package reverse_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/reverse"
)

// forwarding is what an upstream receives in the fields the proxy sets.
type forwarding struct {
	XFF, XFHost, XFProto, Forwarded, Via []string
}

func forwardingOf(h http.Header) forwarding {
	return forwarding{h["X-Forwarded-For"], h["X-Forwarded-Host"], h["X-Forwarded-Proto"], h["Forwarded"], h["Via"]}
}

// rawGet sends one GET with the given request line protocol and header
// lines over a new connection and returns the status.
func rawGet(addr, proto string, lines ...string) int {
	GinkgoHelper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	Expect(err).NotTo(HaveOccurred())
	defer c.Close()
	Expect(c.SetDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
	req := "GET / " + proto + "\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	_, err = io.WriteString(c, req)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	Expect(err).NotTo(HaveOccurred())
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

var _ = Describe("Forwarding fields", func() {
	DescribeTable("should be the same on the direct path and through httputil",
		func(trusted bool, via, proto string, lines []string, want forwarding) {
			s1 := startUpstream("server1")
			cfg := onePool(s1.url)
			cfg.Via = via
			if trusted {
				cfg.TrustedProxies = []string{"127.0.0.0/8"}
			}
			direct := startProxy(cfg)
			std := startProxy(cfg, reverse.WithStdTransport())
			for _, rp := range []*runningProxy{direct, std} {
				Expect(rawGet(rp.addr, proto, lines...)).To(Equal(200))
				r, _ := s1.lastRequest()
				Expect(forwardingOf(r.Header)).To(Equal(want), "through %s", rp.addr)
			}
		},
		// An untrusted client's forwarding fields are replaced, not appended to.
		Entry("untrusted client", false, "", "HTTP/1.1",
			[]string{"Host: example.test", "X-Forwarded-For: 6.6.6.6", "X-Forwarded-Host: evil.test",
				"X-Forwarded-Proto: https", "Forwarded: for=6.6.6.6"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test"}, []string{"http"},
				[]string{"for=127.0.0.1;host=example.test;proto=http"}, []string{"1.1 proxylab"}}),
		// A port's colon is not a token character: the Forwarded host is quoted.
		Entry("host with a port", false, "", "HTTP/1.1",
			[]string{"Host: example.test:8080"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test:8080"}, []string{"http"},
				[]string{`for=127.0.0.1;host="example.test:8080";proto=http`}, []string{"1.1 proxylab"}}),
		// A trusted peer's values stay and this hop is appended; several field lines become one list.
		Entry("trusted peer with prior values", true, "", "HTTP/1.1",
			[]string{"Host: example.test", "X-Forwarded-For: 203.0.113.9", "X-Forwarded-For: 198.51.100.2",
				"X-Forwarded-Host: front.test", "X-Forwarded-Proto: https", "Forwarded: for=203.0.113.9"},
			forwarding{[]string{"203.0.113.9, 198.51.100.2, 127.0.0.1"}, []string{"front.test"}, []string{"https"},
				[]string{"for=203.0.113.9, for=127.0.0.1;host=example.test;proto=http"}, []string{"1.1 proxylab"}}),
		// A trusted peer that sends nothing gets what an untrusted one gets.
		Entry("trusted peer without prior values", true, "", "HTTP/1.1",
			[]string{"Host: example.test"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test"}, []string{"http"},
				[]string{"for=127.0.0.1;host=example.test;proto=http"}, []string{"1.1 proxylab"}}),
		// The hop is added to the client's Via, after every prior line.
		Entry("client Via", false, "", "HTTP/1.1",
			[]string{"Host: example.test", "Via: 1.0 fred", "Via: 1.1 barney"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test"}, []string{"http"},
				[]string{"for=127.0.0.1;host=example.test;proto=http"}, []string{"1.0 fred, 1.1 barney, 1.1 proxylab"}}),
		// A Via the Connection field lists is hop-by-hop and not passed on.
		Entry("client Via listed in Connection", false, "", "HTTP/1.1",
			[]string{"Host: example.test", "Via: 1.0 fred", "Connection: Via"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test"}, []string{"http"},
				[]string{"for=127.0.0.1;host=example.test;proto=http"}, []string{"1.1 proxylab"}}),
		// The hop names the protocol the client spoke.
		Entry("HTTP/1.0 client", false, "", "HTTP/1.0",
			[]string{"Host: example.test"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test"}, []string{"http"},
				[]string{"for=127.0.0.1;host=example.test;proto=http"}, []string{"1.0 proxylab"}}),
		// With Via off the client's Via passes unchanged.
		Entry("Via off, client Via", false, "-", "HTTP/1.1",
			[]string{"Host: example.test", "Via: 1.0 fred"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test"}, []string{"http"},
				[]string{"for=127.0.0.1;host=example.test;proto=http"}, []string{"1.0 fred"}}),
		// With Via off and none from the client, the upstream gets none.
		Entry("Via off, no client Via", false, "-", "HTTP/1.1",
			[]string{"Host: example.test"},
			forwarding{[]string{"127.0.0.1"}, []string{"example.test"}, []string{"http"},
				[]string{"for=127.0.0.1;host=example.test;proto=http"}, nil}),
	)
})
