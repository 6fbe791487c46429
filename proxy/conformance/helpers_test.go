package conformance_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/conformance"
)

// originAddr keeps the origin off 127.0.0.1, where the canary listens: the
// forward proxy's SSRF guard opens exactly the origin's IP, so every
// loopback spelling of 127.0.0.1 must stay refused.
const originAddr = "127.0.9.1:0"

// world is an origin, a canary and one built-in proxy in front of them.
type world struct {
	origin  *conformance.Origin
	canary  *conformance.Canary
	builtin *conformance.Builtin
	runner  *conformance.Runner
}

// startWorld serves the built-in proxy of mode and returns a runner for it,
// all closed when the spec ends.
func startWorld(mode conformance.Mode, secure bool) *world {
	GinkgoHelper()
	w := &world{}
	var err error
	w.origin, err = conformance.NewOrigin(originAddr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.origin.Close)
	w.canary, err = conformance.NewCanary("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.canary.Close)
	start := conformance.StartBuiltin
	if secure {
		start = conformance.StartBuiltinTLS
	}
	w.builtin, err = start(mode, w.origin, w.canary)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.builtin.Close)
	cfg := w.builtin.Config
	cfg.CloseWait = 150 * time.Millisecond
	cfg.Settle = 30 * time.Millisecond
	cfg.Timeout = 3 * time.Second
	w.runner, err = conformance.NewRunner(cfg)
	Expect(err).NotTo(HaveOccurred())
	return w
}

// explain renders a result for a failure message.
func explain(r *conformance.Result) string {
	var b strings.Builder
	_ = conformance.WriteTable(&b, []*conformance.Result{r})
	return b.String()
}
