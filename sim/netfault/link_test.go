package netfault_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/netfault"
)

var _ = Describe("Link", func() {
	var (
		up   *upstream
		link *netfault.Link
	)

	BeforeEach(func() {
		up = startUpstream(echo)
		link = startLink(up.addr(), 1)
	})

	When("no toxic is set", func() {
		It("should relay both ways and pass a half-close on", func() {
			c := dial(link)
			msg := "hello, upstream"
			_, err := roundTrip(c, msg, 2*time.Second)
			Expect(err).NotTo(HaveOccurred())
			Expect(c.CloseWrite()).To(Succeed())
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			rest, err := io.ReadAll(c)
			Expect(err).NotTo(HaveOccurred())
			Expect(rest).To(BeEmpty())
			Eventually(func() netfault.Stats { return link.Stats() }).Should(SatisfyAll(
				HaveField("Connections", int64(1)), HaveField("Active", int64(0)),
				HaveField("BytesUp", int64(len(msg))), HaveField("BytesDown", int64(len(msg))),
			))
		})

		It("should present the link's own address to the upstream", func() {
			peers := make(chan string, 1)
			u := startUpstream(func(c net.Conn) { peers <- c.RemoteAddr().String(); echo(c) })
			l := startLink(u.addr(), 1)
			c := dial(l)
			_, err := roundTrip(c, "x", 2*time.Second)
			Expect(err).NotTo(HaveOccurred())
			Eventually(peers).Should(Receive(HavePrefix("127.0.4.1:")))
		})

		It("should close the client's connection when the upstream refuses", func() {
			ln, err := net.Listen("tcp", "127.0.1.1:0")
			Expect(err).NotTo(HaveOccurred())
			refused := ln.Addr().String()
			Expect(ln.Close()).To(Succeed())
			c := dial(startLink(refused, 1))
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = c.Read(make([]byte, 1))
			Expect(err).To(MatchError(io.EOF))
		})

		It("should close idempotently", func() {
			Expect(link.Close()).To(Succeed())
			Expect(link.Close()).To(Succeed())
		})
	})

	It("should add latency, also to a connection already open", func() {
		c := dial(link)
		base, err := roundTrip(c, "ping", 2*time.Second)
		Expect(err).NotTo(HaveOccurred())
		Expect(link.AddToxic(netfault.Toxic{Type: netfault.Latency, Direction: netfault.Downstream, Latency: 40 * time.Millisecond})).To(Succeed())
		var rtts []time.Duration
		for range 5 {
			d, err := roundTrip(c, "ping", 2*time.Second)
			Expect(err).NotTo(HaveOccurred())
			rtts = append(rtts, d)
		}
		slices.Sort(rtts)
		AddReportEntry("link latency 40ms", fmt.Sprintf("asked +40ms, got median %v (baseline %v)", rtts[2].Round(10*time.Microsecond), base.Round(10*time.Microsecond)))
		Expect(rtts[0]).To(BeNumerically(">=", 40*time.Millisecond))
		Expect(rtts[2]).To(BeNumerically("<", 40*time.Millisecond+15*time.Millisecond))

		Expect(link.RemoveToxic("latency_downstream")).To(Succeed())
		d, err := roundTrip(c, "ping", 2*time.Second)
		Expect(err).NotTo(HaveOccurred())
		Expect(d).To(BeNumerically("<", 40*time.Millisecond))
	})

	It("should delay the very next write after AddToxic returns, even from a splice already woken", func() {
		// With one P, a pump the poller has already woken cannot run before
		// this goroutine blocks: a woken splice reads whatever the socket
		// holds by then, bytes written after AddToxic returned included,
		// unless AddToxic waits for the pump to look at the new state.
		DeferCleanup(runtime.GOMAXPROCS, runtime.GOMAXPROCS(1))
		const latency = 50 * time.Millisecond
		var got atomic.Int64
		marks := make(chan time.Time, 1)
		// The upstream counts the zero bytes it reads and notes when the
		// first 0xff, the mark, arrives.
		sink := startUpstream(func(c net.Conn) {
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if slices.Contains(buf[:n], 0xff) {
					marks <- time.Now()
					return
				}
				got.Add(int64(n))
				if err != nil {
					return
				}
			}
		})
		l := startLink(sink.addr(), 1)
		c := dial(l)
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Write(make([]byte, 1024))
		Expect(err).NotTo(HaveOccurred())
		Eventually(got.Load).Should(BeEquivalentTo(1024), "the pump has relayed and waits in its splice")

		_, err = c.Write(make([]byte, 1024))
		Expect(err).NotTo(HaveOccurred())
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms) // restarting the world polls the network: the pump is woken, not yet run
		Expect(l.AddToxic(netfault.Toxic{Name: "lag", Type: netfault.Latency, Direction: netfault.Upstream, Latency: latency})).To(Succeed())
		wrote := time.Now()
		_, err = c.Write([]byte{0xff})
		Expect(err).NotTo(HaveOccurred())
		var arrived time.Time
		Eventually(marks).WithTimeout(5 * time.Second).Should(Receive(&arrived))
		Expect(arrived.Sub(wrote)).To(BeNumerically(">=", latency), "the mark crossed without the latency")
	})

	It("should add latency with jitter in both directions", func() {
		Expect(link.AddToxic(netfault.Toxic{Name: "up", Type: netfault.Latency, Direction: netfault.Upstream, Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond})).To(Succeed())
		Expect(link.AddToxic(netfault.Toxic{Name: "down", Type: netfault.Latency, Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond})).To(Succeed())
		c := dial(link)
		for range 5 {
			d, err := roundTrip(c, "ping", 2*time.Second)
			Expect(err).NotTo(HaveOccurred())
			Expect(d).To(BeNumerically(">=", 30*time.Millisecond))
			Expect(d).To(BeNumerically("<", 100*time.Millisecond)) // 50ms at most, plus a loaded machine
		}
	})

	It("should limit bandwidth", func() {
		const size, rate = 48 << 10, 128 << 10 // 48 KiB at 128 KiB/s: 375ms
		src := startUpstream(source(size))
		l := startLink(src.addr(), 1)
		Expect(l.AddToxic(netfault.Toxic{Type: netfault.Bandwidth, Rate: rate})).To(Succeed())
		c := dial(l)
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(5 * time.Second))
		n, err := io.Copy(io.Discard, c)
		elapsed := time.Since(start)
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(Equal(int64(size)))
		got := float64(n) / elapsed.Seconds()
		AddReportEntry("link bandwidth 128KiB/s", fmt.Sprintf("asked %d B/s, got %.0f B/s over %d bytes", rate, got, n))
		Expect(got).To(BeNumerically("~", rate, rate*0.2))
	})

	It("should reset the peer", func() {
		Expect(link.AddToxic(netfault.Toxic{Type: netfault.ResetPeer, Delay: 20 * time.Millisecond})).To(Succeed())
		c := dial(link)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		Expect(errors.Is(err, syscall.ECONNRESET)).To(BeTrue(), "got %v", err)
	})

	It("should blackhole and close after the timeout", func() {
		Expect(link.AddToxic(netfault.Toxic{Type: netfault.Timeout, Timeout: 100 * time.Millisecond})).To(Succeed())
		start := time.Now() // the timeout may start before dial returns
		c := dial(link)
		_, err := io.WriteString(c, "lost")
		Expect(err).NotTo(HaveOccurred())
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(make([]byte, 8))
		Expect(n).To(BeZero())
		Expect(err).To(MatchError(io.EOF))
		Expect(time.Since(start)).To(BeNumerically(">=", 100*time.Millisecond))
		Expect(link.Stats().Dropped).To(Equal(int64(4)))
	})

	It("should hold a blackhole until the toxic is removed", func() {
		Expect(link.AddToxic(netfault.Toxic{Name: "hole", Type: netfault.Timeout})).To(Succeed())
		c := dial(link)
		_, err := roundTrip(c, "lost", 150*time.Millisecond)
		Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "got %v", err)
		Expect(link.RemoveToxic("hole")).To(Succeed())
		_, err = roundTrip(c, "back", 2*time.Second)
		Expect(err).NotTo(HaveOccurred())
	})

	It("should close after a data limit", func() {
		Expect(link.AddToxic(netfault.Toxic{Type: netfault.LimitData, Bytes: 10})).To(Succeed())
		c := dial(link)
		_, err := io.WriteString(c, "0123456789abcdef")
		Expect(err).NotTo(HaveOccurred())
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		got, _ := io.ReadAll(c)
		Expect(string(got)).To(Equal("0123456789"))
	})

	It("should slice writes without losing a byte", func() {
		Expect(link.AddToxic(netfault.Toxic{Type: netfault.Slicer, Size: 100, SizeVariation: 50, Delay: time.Millisecond})).To(Succeed())
		c := dial(link)
		msg := string(slices.Repeat([]byte("abcdefghij"), 300))
		_, err := roundTrip(c, msg, 5*time.Second)
		Expect(err).NotTo(HaveOccurred())
	})

	It("should delay the close", func() {
		src := startUpstream(source(10))
		l := startLink(src.addr(), 1)
		Expect(l.AddToxic(netfault.Toxic{Type: netfault.SlowClose, Delay: 100 * time.Millisecond})).To(Succeed())
		start := time.Now() // the upstream may close before dial returns
		c := dial(l)
		_ = c.SetReadDeadline(start.Add(2 * time.Second))
		got, err := io.ReadAll(c)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(HaveLen(10))
		Expect(time.Since(start)).To(BeNumerically(">=", 100*time.Millisecond))
	})

	When("partitioned", func() {
		It("should hold open and new connections without losing bytes, then resume on Heal", func() {
			open := dial(link)
			_, err := roundTrip(open, "before", 2*time.Second)
			Expect(err).NotTo(HaveOccurred())

			link.Partition()
			Expect(link.Partitioned()).To(BeTrue())
			_, err = io.WriteString(open, "during")
			Expect(err).NotTo(HaveOccurred())
			fresh := dial(link)
			_, err = io.WriteString(fresh, "fresh")
			Expect(err).NotTo(HaveOccurred())
			for _, c := range []net.Conn{open, fresh} {
				_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				_, err := c.Read(make([]byte, 1))
				Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "nothing may cross a partition: %v", err)
				_ = c.SetReadDeadline(time.Time{})
			}

			link.Heal()
			for c, want := range map[net.Conn]string{open: "during", fresh: "fresh"} {
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, len(want))
				_, err := io.ReadFull(c, buf)
				Expect(err).NotTo(HaveOccurred())
				Expect(string(buf)).To(Equal(want))
			}
		})

		It("should hold a connection that is on the toxic path too", func() {
			Expect(link.AddToxic(netfault.Toxic{Type: netfault.Latency, Latency: time.Millisecond})).To(Succeed())
			c := dial(link)
			_, err := roundTrip(c, "before", 2*time.Second)
			Expect(err).NotTo(HaveOccurred())
			link.Partition()
			_, err = roundTrip(c, "during", 100*time.Millisecond)
			Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "got %v", err)
			link.Heal()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, len("during"))
			_, err = io.ReadFull(c, buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(buf)).To(Equal("during"))
		})
	})

	It("should make the same fault decisions from the same seed", func() {
		pattern := func(seed uint64) []bool {
			l := startLink(up.addr(), seed)
			Expect(l.AddToxic(netfault.Toxic{Name: "coin", Type: netfault.ResetPeer, Probability: 0.5})).To(Succeed())
			var hit []bool
			for range 24 {
				// An immediate reset may even beat connect's return.
				c, err := net.Dial("tcp", l.Addr())
				if err == nil {
					_, err = roundTrip(c, "x", 2*time.Second)
					_ = c.Close()
				}
				hit = append(hit, err != nil)
			}
			n := 0
			for _, h := range hit {
				if h {
					n++
				}
			}
			Expect(l.Stats().Applied).To(HaveKeyWithValue("coin", int64(n)))
			return hit
		}
		a := pattern(7)
		Expect(a).To(ContainElement(true))
		Expect(a).To(ContainElement(false))
		Expect(pattern(7)).To(Equal(a))
		Expect(pattern(8)).NotTo(Equal(a))
	})

	DescribeTable("should refuse a bad toxic with a message naming the value",
		func(t netfault.Toxic, want string) {
			Expect(link.AddToxic(t)).To(MatchError(ContainSubstring(want)))
			Expect(link.Toxics()).To(BeEmpty())
		},
		// A typo in the type must not become a no-op toxic.
		Entry("unknown type", netfault.Toxic{Type: "lag"}, `toxic type "lag" is unknown; want one of latency, bandwidth`),
		// Toxiproxy's toxicity is a fraction, not a percentage.
		Entry("probability", netfault.Toxic{Type: netfault.Latency, Probability: 30}, "probability 30 is outside 0..1"),
		// A zero rate would stall forever; say so instead.
		Entry("bandwidth without rate", netfault.Toxic{Type: netfault.Bandwidth}, "bandwidth rate 0: want bytes per second above 0"),
		Entry("slicer without size", netfault.Toxic{Type: netfault.Slicer}, "slicer size 0"),
		Entry("negative latency", netfault.Toxic{Type: netfault.Latency, Latency: -time.Second}, "latency -1s is negative"),
	)

	It("should name unknown toxics, types and directions", func() {
		Expect(link.RemoveToxic("nope")).To(MatchError(netfault.ErrNoToxic))
		_, err := netfault.ParseToxicType("jitter")
		Expect(err).To(MatchError(ContainSubstring(`toxic type "jitter" is unknown`)))
		Expect(netfault.ParseToxicType("blackhole")).To(Equal(netfault.Timeout))
		_, err = netfault.ParseDirection("sideways")
		Expect(err).To(MatchError(ContainSubstring(`direction "sideways" is unknown`)))
		_, err = netfault.NewLink(netfault.LinkConfig{Upstream: "nowhere"})
		Expect(err).To(MatchError(ContainSubstring(`upstream "nowhere": want HOST:PORT`)))
	})
})
