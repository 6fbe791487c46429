package scenarios_test

import (
	"bytes"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
)

func head(line string, kv ...string) scenarios.Message {
	m := scenarios.Message{Line: line}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Header = append(m.Header, scenarios.Field{Name: kv[i], Value: kv[i+1]})
	}
	return m
}

var _ = Describe("ChangeNotes", func() {
	DescribeTable("should say in plain words what the proxy changed",
		func(sent, got scenarios.Message, want string) {
			Expect(scenarios.ChangeNotes(sent, got)).To(ContainElement(ContainSubstring(want)))
		},
		// The forward proxy's main job on plain HTTP.
		Entry("absolute-form to origin-form",
			head("GET http://server1/a?b=1 HTTP/1.1", "Host", "server1"), head("GET /a?b=1 HTTP/1.1", "Host", "server1"),
			"absolute-form → origin-form"),
		// Credentials for the proxy must stop at the proxy.
		Entry("Proxy-Authorization removed",
			head("GET / HTTP/1.1", "Proxy-Authorization", "Basic eA=="), head("GET / HTTP/1.1"),
			"Proxy-Authorization removed"),
		// Connection-scoped headers are not forwarded.
		Entry("hop-by-hop headers removed",
			head("GET / HTTP/1.1", "Connection", "keep-alive", "Keep-Alive", "timeout=5"), head("GET / HTTP/1.1"),
			"Connection, Keep-Alive removed"),
		// A forged X-Forwarded-For replaced by what the proxy saw.
		Entry("X-Forwarded-For replaced",
			head("GET / HTTP/1.1", "X-Forwarded-For", "6.6.6.6"), head("GET / HTTP/1.1", "X-Forwarded-For", "127.0.2.2"),
			"the client claimed 6.6.6.6; the server got 127.0.2.2"),
		// A reverse proxy that rewrites Host to the upstream's address.
		Entry("Host changed",
			head("GET / HTTP/1.1", "Host", "shop.example"), head("GET / HTTP/1.1", "Host", "127.0.1.1:4000"),
			"Host changed from shop.example to 127.0.1.1:4000"),
		// The proxy announces itself.
		Entry("Via added",
			head("GET / HTTP/1.1"), head("GET / HTTP/1.1", "Via", "1.1 proxylab"),
			"Via added"),
	)

	It("should say nothing when the head arrived untouched", func() {
		m := head("GET / HTTP/1.1", "Host", "server1", "Accept", "*/*")
		Expect(scenarios.ChangeNotes(m, m)).To(BeEmpty())
	})
})

var _ = Describe("JourneyHops", func() {
	It("should show a traced https request as a CONNECT and the request inside the tunnel", func() {
		j := scenarios.Journey{ID: "cli1-1", Client: "cli1", Server: "secure1",
			Sent:     head("GET https://secure1/page HTTP/1.1", "Host", "secure1", "Proxy-Authorization", "Basic (alice:…)", "X-Proxylab-Id", "cli1-1"),
			Received: &scenarios.Message{Line: "GET /page HTTP/1.1", Header: []scenarios.Field{{Name: "X-Proxylab-Id", Value: "cli1-1"}}},
		}
		hops := scenarios.JourneyHops(j, "proxy")
		Expect(hops[0].Head.Line).To(Equal("CONNECT secure1:443 HTTP/1.1"))
		Expect(hops[0].Head.Get("Proxy-Authorization")).NotTo(BeEmpty())
		Expect(hops[1].Head.Line).To(Equal("GET /page HTTP/1.1"))
		Expect(hops[1].Head.Get("Proxy-Authorization")).To(BeEmpty(), "credentials go on the CONNECT, not inside the tunnel")
		Expect(hops[2].From).To(Equal("tunnel"))
	})

	It("should show one Host line, the one that goes on the wire", func() {
		j := scenarios.Journey{ID: "cli1-1", Client: "cli1",
			Sent: head("GET / HTTP/1.1", "Host", "127.0.3.1:4000", "User-Agent", "Go-http-client/1.1", "Host", "api.example")}
		sent := scenarios.JourneyHops(j, "proxy")[0].Head
		Expect(sent.Header).To(HaveLen(2))
		Expect(sent.Get("Host")).To(Equal("api.example"))
	})

	It("should say the proxy answered itself when no server received the request", func() {
		j := scenarios.Journey{ID: "cli3-1", Client: "cli3", Sent: head("GET http://server1/ HTTP/1.1"),
			Response: &scenarios.Message{Line: "HTTP/1.1 407 Proxy Authentication Required"}}
		hops := scenarios.JourneyHops(j, "proxy")
		Expect(hops[1].To).To(Equal("(no server)"))
		Expect(hops[2].From).To(Equal("proxy"))
	})

	It("should mark added, removed and changed lines, with colour only when asked", func() {
		sent := head("GET http://server1/ HTTP/1.1", "Proxy-Connection", "Keep-Alive", "Accept", "*/*")
		got := head("GET / HTTP/1.1", "Accept", "*/*", "Via", "1.1 proxylab")
		v := scenarios.JourneyView{Title: "t", Hops: []scenarios.Hop{{From: "proxy", To: "server1", Head: got, Before: &sent}}}
		var plain, colour bytes.Buffer
		Expect(scenarios.WriteJourneyView(&plain, v, scenarios.TextStyle{})).To(Succeed())
		Expect(scenarios.WriteJourneyView(&colour, v, scenarios.TextStyle{Color: true})).To(Succeed())
		Expect(plain.String()).To(ContainSubstring("~ GET / HTTP/1.1"))
		Expect(plain.String()).To(ContainSubstring("+ Via: 1.1 proxylab"))
		Expect(plain.String()).To(ContainSubstring("− Proxy-Connection: Keep-Alive"))
		Expect(plain.String()).NotTo(ContainSubstring("\x1b["))
		Expect(colour.String()).To(ContainSubstring("\x1b["))
	})
})
