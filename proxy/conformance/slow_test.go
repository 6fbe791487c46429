package conformance_test

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/conformance"
)

// slowCrowd is n connections that each sent first and then trickle piece
// every tick until the proxy closes them (or the spec ends).
type slowCrowd struct {
	conns  []net.Conn
	closed atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
}

// newSlowCrowd opens the crowd; DeferCleanup closes what is left of it.
func newSlowCrowd(addr string, n int, first, piece string, tick time.Duration) *slowCrowd {
	GinkgoHelper()
	s := &slowCrowd{stop: make(chan struct{})}
	for range n {
		c, err := net.Dial("tcp", addr)
		Expect(err).NotTo(HaveOccurred())
		_, err = io.WriteString(c, first)
		Expect(err).NotTo(HaveOccurred())
		s.conns = append(s.conns, c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// Whatever the proxy answers (408, or nothing), the spec is about
			// the close that follows.
			io.Copy(io.Discard, c)
			s.closed.Add(1)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				for _, c := range s.conns {
					c.SetWriteDeadline(time.Now().Add(tick))
					io.WriteString(c, piece)
				}
			}
		}
	}()
	DeferCleanup(s.close)
	return s
}

func (s *slowCrowd) close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
}

// Closed counts the connections the proxy has closed.
func (s *slowCrowd) Closed() int { return int(s.closed.Load()) }

// resources is what a slow client holds while it is connected.
type resources struct{ Goroutines, FDs int }

func measure() resources {
	fds, _ := os.ReadDir("/proc/self/fd")
	return resources{Goroutines: runtime.NumGoroutine(), FDs: len(fds)}
}

var _ = Describe("Slow clients", func() {
	const crowd = 40
	// tolerance covers goroutines and descriptors that come and go on their
	// own (idle upstream connections, timers), never a crowd of 40.
	const tolerance = 8

	for _, mode := range []conformance.Mode{conformance.Reverse, conformance.Forward} {
		When("they hold the built-in "+string(mode)+" proxy", func() {
			var (
				w    *world
				base resources
				head string
			)

			BeforeEach(func(ctx SpecContext) {
				w = startWorld(mode, false)
				// A first request warms the pools, so the baseline counts them.
				Expect(w.runner.Run(ctx, conformance.Baseline()).Verdict).To(Equal(conformance.Pass))
				base = measure()
				s := w.runner.Config()
				head = "GET /c/slow HTTP/1.1\r\nHost: " + s.Host + "\r\n"
				if mode == conformance.Forward {
					head = "GET http://" + s.OriginAuthority + "/c/slow HTTP/1.1\r\nHost: " + s.OriginAuthority + "\r\n" +
						"Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(s.Auth)) + "\r\n"
				}
			})

			It("should cut slow headers at the header deadline, keep serving others, and give every goroutine and descriptor back", func(ctx SpecContext) {
				start := time.Now()
				s := newSlowCrowd(w.runner.Config().Proxy, crowd, head, "X-Slow: 1\r\n", 50*time.Millisecond)
				Expect(w.runner.Run(ctx, conformance.Baseline()).Verdict).To(Equal(conformance.Pass),
					"a well-behaved client must still be served while the crowd is connected")
				Eventually(ctx, s.Closed).WithTimeout(conformance.BuiltinClientHeader + 2*time.Second).
					Should(Equal(crowd))
				Expect(time.Since(start)).To(BeNumerically("<", conformance.BuiltinClientHeader+2*time.Second))
				s.close()
				Eventually(ctx, measure).Should(SatisfyAll(
					HaveField("Goroutines", BeNumerically("<=", base.Goroutines+tolerance)),
					HaveField("FDs", BeNumerically("<=", base.FDs+tolerance))))
			}, SpecTimeout(15*time.Second))

			It("should cut slow bodies at the body deadline and give every goroutine and descriptor back", func(ctx SpecContext) {
				if note, ok := knownFailures[mode]["21"]; ok {
					Skip("pending: " + note)
				}
				s := newSlowCrowd(w.runner.Config().Proxy, crowd,
					postOf(head)+"Content-Length: 100000\r\n\r\n", "x", 50*time.Millisecond)
				Eventually(ctx, s.Closed).WithTimeout(conformance.BuiltinClientBody + 2*time.Second).
					Should(Equal(crowd))
				s.close()
				Eventually(ctx, measure).Should(SatisfyAll(
					HaveField("Goroutines", BeNumerically("<=", base.Goroutines+tolerance)),
					HaveField("FDs", BeNumerically("<=", base.FDs+tolerance))))
			}, SpecTimeout(15*time.Second))
		})
	}

	// The runner's own check: a proxy that judges nothing must fail.
	It("should fail a raw byte relay on smuggling, slow headers and spoofed X-Forwarded-For", func(ctx SpecContext) {
		o, err := conformance.NewOrigin(originAddr)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(o.Close)
		relay := startRelay(ctx, o.Addr())
		r, err := conformance.NewRunner(conformance.Config{Mode: conformance.Reverse, Proxy: relay, Origin: o,
			ClientHeaderTimeout: 200 * time.Millisecond, ClientBodyTimeout: 200 * time.Millisecond,
			CloseWait: 100 * time.Millisecond, Settle: 20 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		all := conformance.Catalogue()
		for _, id := range []string{"1", "20", "14"} {
			res := r.Run(ctx, conformance.Find(all, id))
			Expect(res.Verdict).To(Equal(conformance.Fail), "case %s against a raw relay:\n%s", id, explain(res))
		}
	}, SpecTimeout(20*time.Second))
})

// postOf turns the crowd's GET head into a POST head.
func postOf(head string) string { return "POST" + head[len("GET"):] }

// startRelay is the worst proxy there is: it copies bytes both ways to
// origin without reading them. It stops when the spec ends.
func startRelay(ctx context.Context, origin string) string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", origin)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, u)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
	DeferCleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
