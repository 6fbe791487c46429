package reverse_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// onlyReader hides everything but Read, so the client cannot know the length
// and sends the body chunked.
type onlyReader struct{ io.Reader }

var _ = Describe("Bodies", func() {
	var (
		s1 *upstream
		rp *runningProxy
	)

	BeforeEach(func() {
		s1 = startUpstream("server1")
		rp = startProxy(onePool(s1.url))
	})

	DescribeTable("should carry request bodies intact",
		func(body func() io.Reader, size int) {
			for range 2 { // twice: the pooled connection must stay in step
				req, err := http.NewRequest("POST", rp.url+"/", body())
				Expect(err).NotTo(HaveOccurred())
				resp, err := rp.client.Do(req)
				Expect(err).NotTo(HaveOccurred())
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				Expect(resp.StatusCode).To(Equal(200))
				Expect(resp.Header.Get("X-Received-Bytes")).To(Equal(strconv.Itoa(size)))
			}
		},
		// Small enough to be kept for replay.
		Entry("small, with Content-Length", func() io.Reader { return strings.NewReader("hello") }, 5),
		// Larger than the replay buffer: streamed.
		Entry("1 MiB, with Content-Length", func() io.Reader { return strings.NewReader(strings.Repeat("b", 1<<20)) }, 1<<20),
		// Unknown length, small: kept and sent with a Content-Length.
		Entry("chunked, small", func() io.Reader { return onlyReader{strings.NewReader("chunky")} }, 6),
		// Unknown length, large: streamed chunked.
		Entry("chunked, 200 KiB", func() io.Reader { return onlyReader{strings.NewReader(strings.Repeat("c", 200<<10))} }, 200<<10),
	)

	DescribeTable("should carry responses intact and keep the connection usable",
		func(method, path string, status, size int) {
			for range 3 {
				req, _ := http.NewRequest(method, rp.url+path, nil)
				resp, err := rp.client.Do(req)
				Expect(err).NotTo(HaveOccurred())
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.StatusCode).To(Equal(status))
				Expect(b).To(HaveLen(size))
			}
			Expect(s1.receipts.Load()).To(BeEquivalentTo(3))
		},
		// A large body spans many reads and copy buffers.
		Entry("1 MiB GET", "GET", "/?size=1048576", 200, 1<<20),
		// HEAD has a Content-Length but no body: the framing must not wait for one.
		Entry("HEAD", "HEAD", "/?size=100", 200, 0),
		// 204 has no body by definition.
		Entry("204", "GET", "/?status=204", 204, 0),
		// 304 has no body by definition.
		Entry("304", "GET", "/?status=304", 304, 0),
	)

	It("should abort the client connection when the upstream dies mid-body, and not retry", func() {
		resp, err := rp.client.Get(rp.url + "/?truncate=1")
		if err == nil { // headers may or may not have left before the cut
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		Expect(err).To(HaveOccurred(), "a cut response, never a clean short one")
		Expect(s1.receipts.Load()).To(BeEquivalentTo(1))
	})
})

var _ = Describe("Early upstream answers", func() {
	It("should pass on an upstream's early 413 to a large upload it does not read", func(ctx SpecContext) {
		addr := startHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}), nil)
		rp := startProxy(onePool("http://" + addr))
		req, _ := http.NewRequestWithContext(ctx, "POST", rp.url+"/", strings.NewReader(strings.Repeat("u", 8<<20)))
		resp, err := rp.client.Do(req)
		if err == nil {
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge))
		}
	}, SpecTimeout(20*time.Second))
})
