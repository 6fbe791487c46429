package reverse_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/reverse"
)

// wsEcho is an upstream that echoes WebSocket messages.
func wsEcho(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, msg); err != nil {
			return
		}
	}
}

func startHandler(h http.Handler, protocols *http.Protocols) string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, Protocols: protocols}
	go srv.Serve(ln)
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	})
	return ln.Addr().String()
}

var _ = Describe("Protocols", func() {
	It("should carry a WebSocket both ways", func(ctx SpecContext) {
		addr := startHandler(http.HandlerFunc(wsEcho), nil)
		rp := startProxy(onePool("http://" + addr))
		c, _, err := websocket.Dial(ctx, "ws://"+rp.addr+"/ws", nil)
		Expect(err).NotTo(HaveOccurred())
		defer c.CloseNow()
		Expect(c.Write(ctx, websocket.MessageText, []byte("ping"))).To(Succeed())
		_, msg, err := c.Read(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(msg)).To(Equal("ping"))
		c.Close(websocket.StatusNormalClosure, "")
	}, SpecTimeout(10*time.Second))

	It("should close a WebSocket by the shutdown deadline", func(ctx SpecContext) {
		addr := startHandler(http.HandlerFunc(wsEcho), nil)
		rp := startProxy(onePool("http://" + addr))
		c, _, err := websocket.Dial(ctx, "ws://"+rp.addr+"/ws", nil)
		Expect(err).NotTo(HaveOccurred())
		defer c.CloseNow()
		Eventually(rp.srv.HijackedCount).Should(Equal(1))

		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		began := time.Now()
		Expect(rp.srv.Shutdown(sctx)).To(MatchError(context.DeadlineExceeded))
		Expect(time.Since(began)).To(BeNumerically("<", 2*time.Second))
		_, _, err = c.Read(ctx)
		Expect(err).To(HaveOccurred())
		Eventually(rp.srv.HijackedCount).Should(BeZero())
	}, SpecTimeout(10*time.Second))

	It("should flush server-sent events as they come", func(ctx SpecContext) {
		release := make(chan struct{})
		addr := startHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: first\n\n")
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			fmt.Fprint(w, "data: second\n\n")
		}), nil)
		defer close(release)
		rp := startProxy(onePool("http://" + addr))
		req, _ := http.NewRequestWithContext(ctx, "GET", rp.url+"/events", nil)
		resp, err := rp.client.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		Expect(err).NotTo(HaveOccurred())
		Expect(line).To(Equal("data: first\n"), "the first event arrives while the upstream still holds the stream open")
	}, SpecTimeout(10*time.Second))

	It("should reach an h2c upstream with prior knowledge", func() {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		addr := startHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, r.Proto)
		}), p)
		cfg := onePool("h2c://" + addr)
		cfg.Pools[0].Health = &reverse.HealthConfig{Path: "/healthz", Interval: 20 * time.Millisecond, Rise: 1, Fall: 1}
		rp := startProxy(cfg)
		code, body, _ := rp.get("/")
		Expect(code).To(Equal(200))
		Expect(body).To(Equal("HTTP/2.0"))
		Consistently(func() string { return rp.Pools()[0].Servers[0].State }, 200*time.Millisecond).Should(Equal("healthy"),
			"health probes reach an h2c-only server over h2c")
	})

	It("should serve h2c clients when h2c is on", func() {
		s1 := startUpstream("server1")
		cfg := onePool(s1.url)
		cfg.H2C = true
		rp := startProxy(cfg)
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: p}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(rp.url + "/")
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.Proto).To(Equal("HTTP/2.0"))
		Expect(string(body)).To(Equal("server1"))
		r, _ := s1.lastRequest()
		Expect(r.Header.Get("Via")).To(Equal("2 proxylab"))
		Expect(strings.ToLower(r.Header.Get("Connection"))).To(BeEmpty())
	})
})
