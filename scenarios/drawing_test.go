package scenarios_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
)

func edges(prefix string, counts ...int) []scenarios.Edge {
	out := make([]scenarios.Edge, len(counts))
	for i, n := range counts {
		out[i] = scenarios.Edge{Name: prefix + string(rune('1'+i)), Requests: n}
	}
	return out
}

var _ = Describe("DrawTopology", func() {
	DescribeTable("should draw the topology with its counts and box the side that owns the proxy",
		func(golden string, t scenarios.Topology) {
			expectGolden(golden, scenarios.DrawTopology(t))
		},
		// The forward drawing of the design: three clients, one server, the clients' side boxed.
		Entry("forward, 3 clients → 1 server", "draw-forward-3-1.golden",
			scenarios.Topology{Mode: scenarios.ModeForward, Clients: edges("cli", 10, 10, 9), Servers: edges("server", 29)}),
		// The reverse drawing of the design: the servers' side boxed.
		Entry("reverse, 3 clients → 3 servers", "draw-reverse-3-3.golden",
			scenarios.Topology{Mode: scenarios.ModeReverse, Clients: edges("cli", 10, 10, 10), Servers: edges("server", 10, 10, 10)}),
		// Even sides leave the proxy's row free so the fans stay symmetric; counts of different widths align.
		Entry("reverse, 2 clients → 4 servers", "draw-reverse-2-4.golden",
			scenarios.Topology{Mode: scenarios.ModeReverse, Clients: edges("cli", 100, 7), Servers: edges("server", 50, 50, 6, 1)}),
		// A forward world can name several servers; unknown counts are not drawn.
		Entry("forward with unknown client counts", "draw-forward-unknown.golden",
			scenarios.Topology{Mode: scenarios.ModeForward, Clients: edges("cli", -1), Servers: edges("server", 3, 0)}),
		// No proxy: no box and no caption.
		Entry("no proxy", "draw-none.golden",
			scenarios.Topology{Mode: scenarios.ModeNone, Clients: edges("cli", 3), Servers: edges("server", 3)}),
	)

	It("should put the caption of each drawing under its box", func() {
		f := scenarios.DrawTopology(scenarios.Topology{Mode: scenarios.ModeForward, Clients: edges("cli", 1), Servers: edges("server", 1)})
		r := scenarios.DrawTopology(scenarios.Topology{Mode: scenarios.ModeReverse, Clients: edges("cli", 1), Servers: edges("server", 1)})
		Expect(strings.TrimSpace(lastLine(f))).To(Equal(scenarios.CaptionForward))
		Expect(strings.TrimSpace(lastLine(r))).To(Equal(scenarios.CaptionReverse))
	})

	It("should draw a run's result with its counts per edge", func() {
		res := &scenarios.Result{Mode: scenarios.ModeReverse, Clients: []string{"cli1"},
			Servers: []scenarios.ServerFigures{{Name: "server1", Requests: 42}}}
		Expect(scenarios.Drawing(res)).To(ContainSubstring("42 ──▶ server1"))
	})
})

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
