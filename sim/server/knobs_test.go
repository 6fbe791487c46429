package server_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/sim/server"
)

// sample is one measured request.
type sample struct {
	status   int
	observed time.Duration // as the client saw it
	drawn    time.Duration // the delay the server drew (X-Sim-Delay)
}

// load sends n GETs to url from conc workers; every request must succeed.
func load(c *http.Client, url string, n, conc int) []sample {
	GinkgoHelper()
	var (
		mu   sync.Mutex
		out  []sample
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range conc {
		wg.Go(func() {
			for range next {
				start := time.Now()
				status, h, _, err := fetch(c, url)
				s := sample{status: status, observed: time.Since(start)}
				if v := h.Get(server.DelayHeader); v != "" {
					s.drawn, _ = time.ParseDuration(v)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					out = append(out, s)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	Expect(errs).To(BeEmpty())
	return out
}

func statusCounts(ss []sample) map[int]int {
	m := map[int]int{}
	for _, s := range ss {
		m[s.status]++
	}
	return m
}

func durations(ss []sample, f func(sample) time.Duration) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

var _ = Describe("Behaviour knobs", func() {
	var (
		srv    *server.Server
		client *http.Client
	)

	BeforeEach(func() {
		srv = startServer(server.Config{Name: "server1", Seed: 42})
		client = newClient(5 * time.Second)
	})

	It("should answer a 90/10 status mix within a few percent over 2,000 requests", func() {
		statuses := statusCounts(load(client, srv.URL()+"/?status=200:90,503:10", 2000, 8))
		got := float64(statuses[503]) / 2000
		AddReportEntry("status 200:90,503:10", fmt.Sprintf("asked 10%% 503, got %.2f%% (%d of 2000)", got*100, statuses[503]))
		Expect(statuses[200] + statuses[503]).To(Equal(2000))
		Expect(got).To(BeNumerically("~", 0.10, 0.02))
		Expect(srv.Stats().ByStatus).To(HaveKeyWithValue(503, int64(statuses[503])))
	})

	DescribeTable("should delay responses with the asked distribution",
		func(spec string, p50, p90 time.Duration) {
			ss := load(client, srv.URL()+"/?latency="+spec, 200, 4)
			drawn := durations(ss, func(s sample) time.Duration { return s.drawn })
			observed := durations(ss, func(s sample) time.Duration { return s.observed })
			overhead := durations(ss, func(s sample) time.Duration { return s.observed - s.drawn })
			AddReportEntry("latency "+spec, fmt.Sprintf("p50 asked %v drawn %v observed %v; p90 asked %v drawn %v observed %v; median overhead %v",
				p50, percentile(drawn, 50).Round(10*time.Microsecond), percentile(observed, 50).Round(10*time.Microsecond),
				p90, percentile(drawn, 90).Round(10*time.Microsecond), percentile(observed, 90).Round(10*time.Microsecond),
				percentile(overhead, 50).Round(10*time.Microsecond)))
			// The drawn delays follow the distribution (sampling error only)…
			Expect(percentile(drawn, 50)).To(BeNumerically("~", p50, time.Millisecond))
			Expect(percentile(drawn, 90)).To(BeNumerically("~", p90, 1500*time.Microsecond))
			// …and each response waited at least its delay, plus a little for
			// loopback, HTTP and the race detector on a shared machine.
			for _, s := range ss {
				Expect(s.observed).To(BeNumerically(">=", s.drawn))
			}
			Expect(percentile(overhead, 50)).To(BeNumerically("<", 10*time.Millisecond))
		},
		// Normal: p90 = mean + 1.2816·stddev.
		Entry("normal", "normal(10ms,2ms)", 10*time.Millisecond, 12563*time.Microsecond),
		// A bimodal mix: the median sits in the fast mode and p90 in the slow one.
		Entry("weighted mix", "2ms:80,20ms:20", 2*time.Millisecond, 20*time.Millisecond),
		// Uniform: the quantiles are linear between the bounds.
		Entry("range", "2ms-12ms", 7*time.Millisecond, 11*time.Millisecond),
	)

	It("should stall so that the client times out", func() {
		c := newClient(150 * time.Millisecond)
		_, _, _, err := fetch(c, srv.URL()+"/?stall=1")
		var ne net.Error
		Expect(errors.As(err, &ne)).To(BeTrue(), "got %v", err)
		Expect(ne.Timeout()).To(BeTrue())
		Eventually(func() int64 { return srv.Stats().InFlight }).Should(BeZero())
		Expect(srv.Stats().Stalled).To(Equal(int64(1)))
	})

	It("should reset the connection mid-body", func() {
		resp, err := client.Get(srv.URL() + "/?reset=1&size=64KiB")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		Expect(err).To(HaveOccurred())
		Expect(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)).To(BeTrue(), "got %v", err)
		Expect(srv.Stats().Reset).To(Equal(int64(1)))
	})

	It("should close the connection after the response", func() {
		resp, err := client.Get(srv.URL() + "/?close=1")
		Expect(err).NotTo(HaveOccurred())
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		Expect(resp.Close).To(BeTrue())
		Expect(srv.Stats().Closed).To(Equal(int64(1)))
	})

	It("should stream chunks one every D", func() {
		start := time.Now()
		resp, err := client.Get(srv.URL() + "/?chunks=4&chunk-every=20ms&size=400")
		Expect(err).NotTo(HaveOccurred())
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(HaveLen(400))
		Expect(resp.TransferEncoding).To(Equal([]string{"chunked"}))
		_, _, plain, err := fetch(client, srv.URL()+"/?size=400")
		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(Equal(plain), "chunks carry the same bytes as one write")
		_, _, big, err := fetch(client, srv.URL()+"/?size=100000&drip=100MiB")
		Expect(err).NotTo(HaveOccurred())
		Expect(big[:400]).To(Equal(plain))
		Expect(big[99999]).To(Equal(big[99999%len(plain[:55])]), "the filler repeats every 55 bytes")
		Expect(time.Since(start)).To(BeNumerically(">=", 60*time.Millisecond))
	})

	It("should drip the body at the asked rate", func() {
		start := time.Now()
		status, _, body, err := fetch(client, srv.URL()+"/?drip=20000&size=4000")
		elapsed := time.Since(start)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK))
		Expect(body).To(HaveLen(4000))
		rate := float64(len(body)) / elapsed.Seconds()
		AddReportEntry("drip 20000 B/s", fmt.Sprintf("asked 20000 B/s, got %.0f B/s", rate))
		// 1000-byte pieces, each followed by its 50ms share of the schedule:
		// the last piece cannot leave before three shares have passed. A busy
		// machine only makes it slower, so the other bound is loose.
		Expect(elapsed).To(BeNumerically(">=", 150*time.Millisecond), "never faster than the drip")
		Expect(rate).To(BeNumerically(">=", 20000/4), "not stalled")
	})

	It("should add the extra headers", func() {
		srv.SetBehaviour(server.Behaviour{Headers: http.Header{"X-Env": {"test"}}})
		_, h, _, err := fetch(client, srv.URL()+"/?header=X-More:1")
		Expect(err).NotTo(HaveOccurred())
		Expect(h.Get("X-Env")).To(Equal("test"))
		Expect(h.Get("X-More")).To(Equal("1"))
		Expect(srv.Behaviour().Headers).To(HaveLen(1))
	})

	It("should make the same decisions from the same seed", func() {
		statuses := func(seed uint64) []int {
			s := startServer(server.Config{Seed: seed, Behaviour: server.Behaviour{Status: must(server.ParseStatusMix("200:50,503:50"))}})
			var out []int
			for range 40 {
				status, _, _, err := fetch(client, s.URL()+"/")
				Expect(err).NotTo(HaveOccurred())
				out = append(out, status)
			}
			return out
		}
		a := statuses(7)
		Expect(statuses(7)).To(Equal(a))
		Expect(statuses(8)).NotTo(Equal(a))
	})
})
