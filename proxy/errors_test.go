package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
)

var _ = Describe("StatusFor", func() {
	DescribeTable("should map each error to one status",
		func(err error, status int, reason string) {
			Expect(proxy.StatusFor(err)).To(Equal(status))
			Expect(proxy.ReasonFor(err)).To(Equal(reason))
		},
		// A refused connection means nothing was sent: bad gateway.
		Entry("dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, 502, "dial"),
		// A dial that timed out is still a dial failure, not a slow upstream.
		Entry("dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, 502, "dial"),
		// The upstream accepted but did not answer in time.
		Entry("response timeout", fmt.Errorf("attempt: %w", context.DeadlineExceeded), 504, "timeout"),
		Entry("no healthy upstream", fmt.Errorf("pool web: %w", proxy.ErrNoUpstream), 503, "no_upstream"),
		Entry("breaker", proxy.ErrBreakerOpen, 503, "breaker_open"),
		// A bad chunked body is the client's fault.
		Entry("client body", fmt.Errorf("read: %w", proxy.ErrClientBody), 400, "client_body"),
		Entry("body too large", &http.MaxBytesError{Limit: 10}, 413, "body_too_large"),
		Entry("headers too large", proxy.ErrHeaderTooLarge, 431, "header_too_large"),
		Entry("no route", proxy.ErrNoRoute, 404, "no_route"),
		// A typed error carries its own status and reason.
		Entry("typed", &proxy.Error{Status: 421, Reason: "misdirected", Err: errors.New("x")}, 421, "misdirected"),
		// Anything unknown from the upstream side is a bad gateway.
		Entry("unknown", errors.New("boom"), 502, "upstream"),
	)
})
