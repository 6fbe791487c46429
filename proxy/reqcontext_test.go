package proxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
)

type ctxKey string

var _ = Describe("A request's context", func() {
	var (
		parent       context.Context
		cancelParent context.CancelCauseFunc
		ctx          context.Context
		end          func()
	)

	BeforeEach(func() {
		parent, cancelParent = context.WithCancelCause(context.WithValue(context.Background(), ctxKey("k"), "v"))
		DeferCleanup(func() { cancelParent(nil) })
		ctx, end = proxy.NewRequestContext(parent)
	})

	It("should be live until the request ends, then cancelled with its channel closed", func() {
		Expect(ctx.Err()).To(BeNil())
		Expect(ctx.Done()).NotTo(BeClosed())
		end()
		Expect(ctx.Err()).To(MatchError(context.Canceled))
		Expect(ctx.Done()).To(BeClosed())
		Expect(context.Cause(ctx)).To(MatchError(context.Canceled))
		Expect(parent.Err()).To(BeNil())
	})

	It("should give a closed channel when Done is first asked after the end", func() {
		end()
		Expect(ctx.Done()).To(BeClosed())
	})

	It("should keep the parent's values and deadline", func() {
		Expect(ctx.Value(ctxKey("k"))).To(Equal("v"))
		Expect(ctx.Value(ctxKey("other"))).To(BeNil())
		_, has := ctx.Deadline()
		Expect(has).To(BeFalse())
	})

	It("should report its own cancellation to context.Cause, not the parent's state", func() {
		end()
		Expect(context.Cause(ctx)).To(MatchError(context.Canceled))
		Expect(context.Cause(parent)).To(BeNil())
	})

	It("should end with the parent, whether or not Done was asked before", func() {
		other, _ := proxy.NewRequestContext(parent)
		done := ctx.Done()
		cancelParent(errors.New("engine closed"))
		Eventually(done).Should(BeClosed())
		Expect(ctx.Err()).To(MatchError(context.Canceled))
		Expect(other.Err()).To(MatchError(context.Canceled))
		Expect(other.Done()).To(BeClosed())
	})

	It("should cancel the contexts derived from it and run AfterFunc's functions at the end", func() {
		child, stopChild := context.WithCancel(ctx)
		defer stopChild()
		timed, stopTimed := context.WithTimeout(ctx, time.Hour)
		defer stopTimed()
		ran := make(chan struct{})
		context.AfterFunc(ctx, func() { close(ran) })
		Consistently(ran, 50*time.Millisecond).ShouldNot(BeClosed())
		Expect(child.Err()).To(BeNil())
		end()
		Eventually(ran).Should(BeClosed())
		Eventually(child.Done()).Should(BeClosed())
		Eventually(timed.Done()).Should(BeClosed())
		Expect(child.Err()).To(MatchError(context.Canceled))
	})

	It("should not run a function whose AfterFunc was stopped in time", func() {
		ran := make(chan struct{})
		stop := context.AfterFunc(ctx, func() { close(ran) })
		Expect(stop()).To(BeTrue())
		Expect(stop()).To(BeFalse())
		end()
		Consistently(ran, 100*time.Millisecond).ShouldNot(BeClosed())
	})

	It("should run at once a function given after the end", func() {
		end()
		ran := make(chan struct{})
		stop := context.AfterFunc(ctx, func() { close(ran) })
		Eventually(ran).Should(BeClosed())
		Expect(stop()).To(BeFalse())
	})

	When("served by the own loop", func() {
		It("should carry the server and local address, live while the handler runs and end after it", func() {
			seen := make(chan context.Context, 1)
			live := make(chan error, 1)
			_, addr := serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				live <- r.Context().Err()
				seen <- r.Context()
				io.WriteString(w, "ok")
			}), proxy.ServerConfig{})
			c := dialRaw(addr)
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := c.read("GET")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(body).To(Equal("ok"))
			Expect(<-live).To(BeNil())
			rctx := <-seen
			Eventually(rctx.Done()).Should(BeClosed())
			Expect(rctx.Value(http.ServerContextKey)).NotTo(BeNil())
			Expect(rctx.Value(http.LocalAddrContextKey).(interface{ String() string }).String()).To(Equal(addr))
		})

		It("should cancel a running handler's context when the server closes", func() {
			entered := make(chan context.Context, 1)
			release := make(chan struct{})
			DeferCleanup(func() { close(release) })
			srv, addr := serveOwn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				entered <- r.Context()
				<-release
			}), proxy.ServerConfig{})
			c := dialRaw(addr)
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			var rctx context.Context
			Eventually(entered, 5*time.Second).Should(Receive(&rctx))
			Expect(rctx.Err()).To(BeNil())
			srv.Close()
			Eventually(rctx.Err).Should(HaveOccurred())
			Eventually(rctx.Done()).Should(BeClosed())
		})
	})
})
