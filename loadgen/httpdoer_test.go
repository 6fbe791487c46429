package loadgen_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/loadgen"
)

// scripted is a raw TCP server on loopback that answers each request with
// whatever reply returns: exact bytes, so framing can be tested byte for byte.
type scripted struct {
	ln       net.Listener
	accepted atomic.Int64
	requests chan string
	wg       sync.WaitGroup
}

// reply writes the response to request n (1-based, per connection) and
// reports whether to keep the connection open.
type reply func(c net.Conn, n int, req string) bool

func newScripted(r reply) *scripted {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	s := &scripted{ln: ln, requests: make(chan string, 100)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := readRequest(br)
					if err != nil {
						return
					}
					select {
					case s.requests <- req:
					default:
					}
					if !r(c, n, req) {
						return
					}
				}
			}()
		}
	}()
	DeferCleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *scripted) url() string { return "http://" + s.ln.Addr().String() + "/path?q=1" }

// readRequest reads one request head and its Content-Length body.
func readRequest(br *bufio.Reader) (string, error) {
	var b strings.Builder
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		b.WriteString(line)
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return "", err
	}
	b.Write(body)
	return b.String(), nil
}

func write(c net.Conn, s string) { _, _ = io.WriteString(c, s) }

// doOnce sends one request with a fresh doer on worker 0, with sequence
// number seq[0] when given.
func doOnce(ctx context.Context, cfg loadgen.HTTPConfig, seq ...uint64) loadgen.Result {
	GinkgoHelper()
	d, err := loadgen.NewHTTPDoer(cfg)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(d.Close)
	s := loadgen.Slot{}
	if len(seq) > 0 {
		s.Seq = seq[0]
	}
	return d.Do(ctx, s)
}

var _ = Describe("HTTPDoer", func() {
	DescribeTable("should frame responses correctly",
		func(ctx SpecContext, response string, status int, bytes int64, server string) {
			s := newScripted(func(c net.Conn, _ int, _ string) bool {
				write(c, response)
				return false
			})
			res := doOnce(ctx, loadgen.HTTPConfig{URL: s.url(), Timeout: 2 * time.Second})
			Expect(res.Err).To(BeEmpty())
			Expect(res.Status).To(Equal(status))
			Expect(res.Bytes).To(Equal(bytes))
			Expect(res.Tags.Server).To(Equal(server))
			Expect(res.Raw).To(BeNumerically(">", 0))
		},
		// The common case, with the sim server's header captured as the tag.
		Entry("Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Sim-Server: server1\r\n\r\nhello", 200, int64(5), "server1"),
		// Chunked with an extension and trailers: the body is the chunk data only.
		Entry("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", 200, int64(11), ""),
		// No framing at all: the body runs to the close.
		Entry("read to close", "HTTP/1.1 200 OK\r\n\r\nuntil the end", 200, int64(13), ""),
		// Interim 100 Continue is skipped, the final response counts.
		Entry("interim 1xx", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 201, int64(2), ""),
		// 204 has no body whatever it says.
		Entry("204 with no body", "HTTP/1.1 204 No Content\r\n\r\n", 204, int64(0), ""),
		// HTTP/1.0 and lowercase header names.
		Entry("HTTP/1.0, lowercase headers", "HTTP/1.0 503 Service Unavailable\r\ncontent-length: 3\r\nx-sim-server: s2\r\n\r\nbad", 503, int64(3), "s2"),
	)

	It("should reuse a keep-alive connection and honour Connection: close", func(ctx SpecContext) {
		s := newScripted(func(c net.Conn, n int, _ string) bool {
			if n == 3 {
				write(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				return false
			}
			write(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return true
		})
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), Timeout: 2 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		for range 5 {
			Expect(d.Do(ctx, loadgen.Slot{Worker: 0}).Status).To(Equal(200))
		}
		// Requests 1-3 on the first connection, which the server closed; 4-5 on a second.
		Expect(s.accepted.Load()).To(BeEquivalentTo(2))
	})

	It("should tag each response of a connection with its own server header", func(ctx SpecContext) {
		servers := []string{"s1", "", "s2", "s2"}
		s := newScripted(func(c net.Conn, n int, _ string) bool {
			h := ""
			if name := servers[(n-1)%len(servers)]; name != "" {
				h = "X-Sim-Server: " + name + "\r\n"
			}
			write(c, "HTTP/1.1 200 OK\r\n"+h+"Content-Length: 0\r\n\r\n")
			return true
		})
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), Timeout: 2 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		var got []string
		for range servers {
			got = append(got, d.Do(ctx, loadgen.Slot{}).Tags.Server)
		}
		Expect(got).To(Equal(servers))
	})

	It("should open no more than MaxConns connections and queue the rest", func(ctx SpecContext) {
		s := newScripted(func(c net.Conn, _ int, _ string) bool {
			time.Sleep(50 * time.Millisecond)
			write(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return true
		})
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), MaxConns: 2, Timeout: 5 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		var wg sync.WaitGroup
		results := make([]loadgen.Result, 6)
		for i := range results {
			wg.Go(func() { results[i] = d.Do(ctx, loadgen.Slot{Worker: i}) })
		}
		wg.Wait()
		for _, r := range results {
			Expect(r.Status).To(Equal(200))
			// Raw latency starts when a connection is free, so it stays near
			// one server delay (50ms) even for the requests that queued two
			// rounds (150ms) behind.
			Expect(r.Raw).To(BeNumerically("<", 140*time.Millisecond))
		}
		Expect(s.accepted.Load()).To(BeEquivalentTo(2))
	})

	It("should retry once when an idle keep-alive connection was closed by the server", func(ctx SpecContext) {
		s := newScripted(func(c net.Conn, _ int, _ string) bool {
			write(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return false // closes silently, without Connection: close
		})
		d, err := loadgen.NewHTTPDoer(loadgen.HTTPConfig{URL: s.url(), Timeout: 2 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(d.Close)
		Expect(d.Do(ctx, loadgen.Slot{}).Status).To(Equal(200))
		Eventually(func() int64 { return s.accepted.Load() }).Should(BeEquivalentTo(1))
		res := d.Do(ctx, loadgen.Slot{})
		Expect(res.Err).To(BeEmpty())
		Expect(res.Status).To(Equal(200))
	})

	It("should send the method, headers, id, body and Connection: close as configured", func(ctx SpecContext) {
		s := newScripted(func(c net.Conn, _ int, _ string) bool {
			write(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			return true
		})
		res := doOnce(ctx, loadgen.HTTPConfig{
			URL: s.url(), Method: "POST", Body: []byte(`{"a":1}`), NoKeepAlive: true,
			Header: http.Header{"Content-Type": {"application/json"}}, Client: "cli1", IDHeader: "x-proxylab-id",
		}, 7)
		Expect(res.Status).To(Equal(200))
		var req string
		Eventually(s.requests).Should(Receive(&req))
		Expect(req).To(HavePrefix("POST /path?q=1 HTTP/1.1\r\n"))
		Expect(req).To(ContainSubstring("Content-Length: 7\r\n"))
		Expect(req).To(ContainSubstring("Content-Type: application/json\r\n"))
		Expect(req).To(ContainSubstring("X-Proxylab-Id: cli1-7\r\n"))
		Expect(req).To(ContainSubstring("Connection: close\r\n"))
		Expect(req).To(HaveSuffix("\r\n\r\n" + `{"a":1}`))
	})

	It("should go through a forward proxy in absolute form with Basic proxy auth", func(ctx SpecContext) {
		seen := make(chan *http.Request, 1)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen <- r
			w.Header().Set("X-Sim-Server", "origin")
			_, _ = w.Write([]byte("via proxy"))
		}))
		DeferCleanup(proxy.Close)
		res := doOnce(ctx, loadgen.HTTPConfig{
			URL:   "http://server1/hello?x=1",
			Proxy: strings.Replace(proxy.URL, "http://", "http://alice:s3cret@", 1),
		})
		Expect(res.Err).To(BeEmpty())
		Expect(res.Status).To(Equal(200))
		Expect(res.Tags.Server).To(Equal("origin"))
		var r *http.Request
		Eventually(seen).Should(Receive(&r))
		Expect(r.RequestURI).To(Equal("http://server1/hello?x=1"))
		Expect(r.Host).To(Equal("server1"))
		Expect(r.Header.Get("Proxy-Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))))
	})

	It("should speak h2c when asked", func(ctx SpecContext) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.Proto)
		}))
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
		srv.Start()
		DeferCleanup(srv.Close)
		res := doOnce(ctx, loadgen.HTTPConfig{URL: srv.URL, H2C: true})
		Expect(res.Err).To(BeEmpty())
		Expect(res.Status).To(Equal(200))
		Expect(res.Bytes).To(BeEquivalentTo(len("HTTP/2.0")))
	})

	Describe("error classification", func() {
		It("should say refused when nothing listens", func(ctx SpecContext) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			Expect(err).NotTo(HaveOccurred())
			addr := ln.Addr().String()
			Expect(ln.Close()).To(Succeed())
			res := doOnce(ctx, loadgen.HTTPConfig{URL: "http://" + addr + "/"})
			Expect(res.Err).To(Equal(loadgen.ErrRefused))
			Expect(res.Status).To(BeZero())
			Expect(res.Success()).To(BeFalse())
		})

		It("should say timeout when the server never answers", func(ctx SpecContext) {
			s := newScripted(func(c net.Conn, _ int, _ string) bool {
				_, _ = c.Read(make([]byte, 1)) // holds until the client gives up
				return false
			})
			res := doOnce(ctx, loadgen.HTTPConfig{URL: s.url(), Timeout: 100 * time.Millisecond})
			Expect(res.Err).To(Equal(loadgen.ErrTimeout))
			Expect(res.Raw).To(BeNumerically(">=", 100*time.Millisecond))
		})

		It("should say reset when the server aborts the connection", func(ctx SpecContext) {
			s := newScripted(func(c net.Conn, _ int, _ string) bool {
				_ = c.(*net.TCPConn).SetLinger(0)
				return false
			})
			Expect(doOnce(ctx, loadgen.HTTPConfig{URL: s.url()}).Err).To(Equal(loadgen.ErrReset))
		})

		It("should say eof when the server closes mid-response", func(ctx SpecContext) {
			s := newScripted(func(c net.Conn, _ int, _ string) bool {
				write(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
				return false
			})
			Expect(doOnce(ctx, loadgen.HTTPConfig{URL: s.url()}).Err).To(Equal(loadgen.ErrEOF))
		})

		It("should say protocol when the response is not HTTP", func(ctx SpecContext) {
			s := newScripted(func(c net.Conn, _ int, _ string) bool {
				write(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
				return false
			})
			Expect(doOnce(ctx, loadgen.HTTPConfig{URL: s.url()}).Err).To(Equal(loadgen.ErrProtocol))
		})

		It("should say canceled when the run ends mid-request", func(ctx SpecContext) {
			s := newScripted(func(c net.Conn, _ int, _ string) bool {
				_, _ = c.Read(make([]byte, 1))
				return false
			})
			reqCtx, cancel := context.WithCancel(ctx)
			time.AfterFunc(50*time.Millisecond, cancel)
			Expect(doOnce(reqCtx, loadgen.HTTPConfig{URL: s.url()}).Err).To(Equal(loadgen.ErrCanceled))
		})
	})

	DescribeTable("should reject a bad config naming the value",
		func(cfg loadgen.HTTPConfig, mention string) {
			_, err := loadgen.NewHTTPDoer(cfg)
			Expect(err).To(MatchError(ContainSubstring(mention)))
		},
		// Only http and https targets make sense.
		Entry("ftp url", loadgen.HTTPConfig{URL: "ftp://x/"}, `"ftp://x/"`),
		// A proxy must be an http:// URL with a host.
		Entry("bad proxy", loadgen.HTTPConfig{URL: "http://x/", Proxy: "socks5://p:1"}, `"socks5://p:1"`),
	)
})
