package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	"golang.org/x/net/http2"

	"github.com/proxylab/proxylab/sim/server"
)

var _ = Describe("Server", func() {
	var (
		srv    *server.Server
		client *http.Client
		mu     sync.Mutex
		seen   []server.Receipt
	)

	BeforeEach(func() {
		seen = nil
		srv = startServer(server.Config{Name: "server1", Seed: 1, OnRequest: func(r server.Receipt) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, r)
		}})
		client = newClient(5 * time.Second)
	})

	It("should name itself on every response and hand every request to OnRequest", func() {
		status, h, body, err := fetch(client, srv.URL()+"/hello?size=10", server.IDHeader, "cli1-7")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK))
		Expect(h.Get(server.ServerHeader)).To(Equal("server1"))
		Expect(body).To(HaveLen(10))
		mu.Lock()
		defer mu.Unlock()
		Expect(seen).To(HaveLen(1))
		Expect(seen[0]).To(MatchFields(IgnoreExtras, Fields{
			"Server": Equal("server1"), "ID": Equal("cli1-7"), "Method": Equal("GET"),
			"Target": Equal("/hello?size=10"), "Proto": Equal("HTTP/1.1"),
		}))
		Expect(srv.Receipts()).To(HaveLen(1))
		Expect(srv.Stats().ByStatus).To(HaveKeyWithValue(200, int64(1)))
	})

	It("should echo the headers in the order and spelling they were sent", func() {
		conn, err := net.Dial("tcp", srv.Addr())
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(conn.Close)
		body := "ping"
		fmt.Fprintf(conn, "POST /echo?a=1 HTTP/1.1\r\nHost: server1\r\nzeta: z\r\nX-Proxylab-Id: cli2-1\r\nAlpha: a1\r\nalpha: a2\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		var e server.Echo
		Expect(json.NewDecoder(resp.Body).Decode(&e)).To(Succeed())
		Expect(e.HeaderOrder).To(Equal(server.OrderReceived))
		Expect(e.Names()).To(Equal([]string{"Host", "zeta", "X-Proxylab-Id", "Alpha", "alpha", "Content-Length"}))
		Expect(e.Values("alpha")).To(Equal([]string{"a1", "a2"}))
		Expect(e).To(MatchFields(IgnoreExtras, Fields{
			"Server": Equal("server1"), "ID": Equal("cli2-1"), "Method": Equal("POST"),
			"Target": Equal("/echo?a=1"), "Host": Equal("server1"), "BodyBytes": Equal(int64(4)),
			"BodySHA256": Equal(sha256hex(body)),
		}))
		Expect(e.Peer).To(Equal(conn.LocalAddr().String()))
	})

	It("should answer /healthz from SetHealthy, whatever the knobs say", func() {
		srv.SetBehaviour(server.Behaviour{Status: must(server.ParseStatusMix("500")), Stall: 1})
		status, _, _, err := fetch(client, srv.URL()+"/healthz")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK))
		srv.SetHealthy(false)
		status, _, _, err = fetch(client, srv.URL()+"/healthz")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusServiceUnavailable))
		srv.SetHealthy(true)
		status, _, _, _ = fetch(client, srv.URL()+"/healthz")
		Expect(status).To(Equal(http.StatusOK))
	})

	It("should echo WebSocket messages", func(ctx SpecContext) {
		c, _, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/ws", &websocket.DialOptions{HTTPClient: client})
		Expect(err).NotTo(HaveOccurred())
		defer c.CloseNow()
		for _, msg := range []string{"one", "two"} {
			Expect(c.Write(ctx, websocket.MessageText, []byte(msg))).To(Succeed())
			typ, got, err := c.Read(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(typ).To(Equal(websocket.MessageText))
			Expect(string(got)).To(Equal(msg))
		}
		Expect(c.Close(websocket.StatusNormalClosure, "")).To(Succeed())
	}, SpecTimeout(5*time.Second))

	It("should end WebSockets with 1001 when it stops", func(ctx SpecContext) {
		c, _, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/ws", &websocket.DialOptions{HTTPClient: client})
		Expect(err).NotTo(HaveOccurred())
		defer c.CloseNow()
		readErr := make(chan error, 1)
		go func() { _, _, err := c.Read(ctx); readErr <- err }()
		Expect(srv.Stop(ctx)).To(Succeed())
		Eventually(readErr).Should(Receive(WithTransform(websocket.CloseStatus, Equal(websocket.StatusGoingAway))))
	}, SpecTimeout(10*time.Second))

	It("should speak h2c on the same listener", func() {
		tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
		DeferCleanup(tr.CloseIdleConnections)
		h2 := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		status, h, body, err := fetch(h2, srv.URL()+"/echo", "X-B", "2", "X-A", "1")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK))
		Expect(h.Get(server.ServerHeader)).To(Equal("server1"))
		var e server.Echo
		Expect(json.Unmarshal(body, &e)).To(Succeed())
		Expect(e.Proto).To(Equal("HTTP/2.0"))
		Expect(e.HeaderOrder).To(Equal(server.OrderSorted))
		Expect(e.Get("X-A")).To(Equal("1"))
	})

	It("should stream server-sent events", func() {
		status, h, body, err := fetch(client, srv.URL()+"/sse?events=3&every=5ms")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK))
		Expect(h.Get("Content-Type")).To(Equal("text/event-stream"))
		Expect(strings.Count(string(body), "event: tick")).To(Equal(3))
	})

	When("it crashes", func() {
		It("should fail in-flight requests, refuse new ones, then serve again on the same address after Recover", func(ctx SpecContext) {
			addr := srv.Addr()
			inflight := make(chan error, 1)
			go func() {
				_, _, _, err := fetch(client, srv.URL()+"/slow?latency=5s")
				inflight <- err
			}()
			Eventually(func() int64 { return srv.Stats().InFlight }).Should(Equal(int64(1)))
			srv.Crash()
			srv.Crash() // idempotent
			Eventually(inflight).Should(Receive(HaveOccurred()))

			_, err := net.DialTimeout("tcp", addr, time.Second)
			Expect(errors.Is(err, syscall.ECONNREFUSED)).To(BeTrue(), "dial after crash: %v", err)

			Expect(srv.Recover()).To(Succeed())
			Expect(srv.Addr()).To(Equal(addr))
			status, _, _, err := fetch(client, srv.URL()+"/")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(http.StatusOK))
		}, SpecTimeout(10*time.Second))

		It("should kill hijacked connections too", func(ctx SpecContext) {
			c, _, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/ws", &websocket.DialOptions{HTTPClient: client})
			Expect(err).NotTo(HaveOccurred())
			defer c.CloseNow()
			srv.Crash()
			_, _, err = c.Read(ctx)
			Expect(err).To(HaveOccurred())
			Expect(websocket.CloseStatus(err)).To(Equal(websocket.StatusCode(-1)), "a crash sends no close frame")
		}, SpecTimeout(10*time.Second))
	})

	When("it stops gracefully", func() {
		It("should finish in-flight responses and end stalled ones", func(ctx SpecContext) {
			slow := make(chan error, 1)
			go func() {
				status, _, _, err := fetch(client, srv.URL()+"/slow?latency=300ms")
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d", status)
				}
				slow <- err
			}()
			stalled := make(chan error, 1)
			go func() {
				_, _, _, err := fetch(client, srv.URL()+"/stuck?stall=1")
				stalled <- err
			}()
			Eventually(func() int64 { return srv.Stats().InFlight }).Should(Equal(int64(2)))
			Expect(srv.Stop(ctx)).To(Succeed())
			Expect(srv.Stop(ctx)).To(Succeed()) // idempotent
			Eventually(slow).Should(Receive(BeNil()))
			Eventually(stalled).Should(Receive(HaveOccurred()))
		}, SpecTimeout(10*time.Second))
	})

	It("should answer a bad per-request knob with 400 naming the value and the form", func() {
		status, _, body, err := fetch(client, srv.URL()+"/x?status=200:abc")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(string(body)).To(ContainSubstring(`status "200:abc": weight "abc" is not a number; want CODE:WEIGHT`))
		status, _, body, _ = fetch(client, srv.URL()+"/x", "X-Sim-Latency", "soon")
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(string(body)).To(ContainSubstring(`latency "soon"`))
	})

	It("should refuse a bad behaviour in New", func() {
		_, err := server.New(server.Config{Behaviour: server.Behaviour{Stall: 2}})
		Expect(err).To(MatchError(ContainSubstring("stall 2 is outside 0..1")))
		_, err = server.New(server.Config{Addr: "nowhere"})
		Expect(err).To(MatchError(ContainSubstring(`address "nowhere": want HOST:PORT`)))
	})

	It("should drain and read the body before answering", func() {
		resp, err := client.Post(srv.URL()+"/upload", "application/octet-stream", io.LimitReader(zeros{}, 1<<20))
		Expect(err).NotTo(HaveOccurred())
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
	})
})

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

var _ = Describe("Server over h2c", func() {
	It("should stop gracefully with an h2c connection open", func(ctx SpecContext) {
		s, err := server.New(server.Config{Name: "h2", Addr: "127.0.1.1:0"})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Start()).To(Succeed())
		tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
		DeferCleanup(tr.CloseIdleConnections)
		h2 := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		done := make(chan error, 1)
		go func() {
			status, _, _, err := fetch(h2, s.URL()+"/slow?latency=200ms")
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("status %d", status)
			}
			done <- err
		}()
		Eventually(func() int64 { return s.Stats().InFlight }).Should(Equal(int64(1)))
		start := time.Now()
		Expect(s.Stop(ctx)).To(Succeed())
		Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second))
		Eventually(done).Should(Receive(BeNil()), "the in-flight h2 stream finishes")
	}, SpecTimeout(10*time.Second))
})
