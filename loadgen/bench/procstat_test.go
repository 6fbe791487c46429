package bench

import (
	"net"
	"os"
	"strings"
	"text/template"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim"
)

var _ = Describe("/proc readings", func() {
	It("should parse a stat line whose command name has spaces and parentheses", func() {
		line := "4242 (my (odd) proc) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 120 3 4 20 0 5 0 1000 1234567 890 18446744073709551615"
		st, err := parseStat([]byte(line))
		Expect(err).NotTo(HaveOccurred())
		Expect(st).To(Equal(procStat{ppid: 17, utime: 250, stime: 120, cutime: 3, cstime: 4}))
	})

	It("should refuse a truncated stat line", func() {
		_, err := parseStat([]byte("1 (x) S 0 1"))
		Expect(err).To(MatchError(ContainSubstring("want ≥ 15")))
	})

	It("should read this process's CPU time and memory", func() {
		tree := procTree{root: os.Getpid()}
		Expect(tree.pids()).To(ContainElement(os.Getpid()))
		_, err := tree.cpu()
		Expect(err).NotTo(HaveOccurred())
		Expect(tree.memory("VmRSS")).To(BeNumerically(">", 1<<20))
		Expect(tree.memory("VmHWM")).To(BeNumerically(">=", tree.memory("VmRSS")/2))
	})

	It("should find the process listening on a port", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(ln.Close)
		Expect(listenerPID(ln.Addr().(*net.TCPAddr).Port)).To(Equal(os.Getpid()))
	})

	It("should find nobody on a port nobody listens on", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		port := ln.Addr().(*net.TCPAddr).Port
		Expect(ln.Close()).To(Succeed())
		Expect(listenerPID(port)).To(BeZero())
	})
})

var _ = Describe("Peers", func() {
	data := sim.ExternalData{
		Host: "127.0.0.1", Port: 40001, Listen: "127.0.0.1:40001", Dir: "/tmp/run", ConfigFile: "/tmp/run/proxy.conf",
		Servers: []sim.Upstream{{Name: "backend", Addr: "127.0.0.1:40002", Weight: 1}},
	}
	render := func(name string) string {
		p, ok := LookupPeer(name)
		Expect(ok).To(BeTrue())
		tmpl, err := p.ConfigTemplate()
		Expect(err).NotTo(HaveOccurred())
		t, err := template.New(name).Option("missingkey=error").Parse(tmpl)
		Expect(err).NotTo(HaveOccurred())
		var b strings.Builder
		Expect(t.Execute(&b, data)).To(Succeed())
		return b.String()
	}

	DescribeTable("config templates",
		func(name string, wants ...string) {
			out := render(name)
			for _, w := range wants {
				Expect(out).To(ContainSubstring(w), name)
			}
		},
		// nginx needs HTTP/1.1, an empty Connection and keepalive for upstream keep-alive, one worker.
		Entry("nginx", "nginx", "worker_processes 1;", "listen 127.0.0.1:40001", "server 127.0.0.1:40002;", "keepalive 256;", `proxy_set_header Connection "";`, "proxy_http_version 1.1;", "access_log off;"),
		// HAProxy gets one thread and reuses server connections.
		Entry("haproxy", "haproxy", "nbthread 1", "bind 127.0.0.1:40001", "server backend 127.0.0.1:40002", "http-reuse always"),
		// Caddy without its admin API or automatic HTTPS.
		Entry("caddy", "caddy", "admin off", "auto_https off", "http://127.0.0.1:40001", "reverse_proxy 127.0.0.1:40002"),
		// Squid as a plain forward proxy: no cache, no logs, one worker.
		Entry("squid", "squid", "http_port 127.0.0.1:40001", "workers 1", "cache deny all", "access_log none"),
		// tinyproxy listens on the host and port separately.
		Entry("tinyproxy", "tinyproxy", "Port 40001", "Listen 127.0.0.1"),
	)

	It("should list every peer with an install hint and a mode", func() {
		Expect(Peers()).To(Equal([]string{"nginx", "haproxy", "caddy", "squid", "tinyproxy"}))
		for _, name := range Peers() {
			p, _ := LookupPeer(name)
			Expect(p.Install).To(HavePrefix("apt-get install "), name)
			Expect(p.Mode).To(BeElementOf(Reverse, Forward), name)
			Expect(p.Command[0]).To(Equal(p.Program), name)
		}
	})
})
