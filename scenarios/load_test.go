package scenarios_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/scenarios"
)

const good = `name: ok
proxy: {mode: reverse, balance: least_conn}
servers: [{name: server1..3, latency: 2ms}]
load: [{phase: steady, duration: 2s, rate: 100/s}]
events: [{at: 1s, crash: server2}]
expect: [ledger.lost == 0, latency.p99 < 50ms]
`

var _ = Describe("Parse", func() {
	It("should read a valid scenario with defaults applied and ranges expanded", func() {
		sc, err := scenarios.Parse("ok.yaml", []byte(good))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Servers).To(HaveLen(3))
		Expect(sc.Servers[2].Name).To(Equal("server3"))
		Expect(sc.ClientNames()).To(Equal([]string{"cli1", "cli2", "cli3"}))
		Expect(sc.Proxy.Reverse.Balance.Policy).To(Equal("least_conn"))
		Expect(sc.Area).To(Equal("reverse"))
		Expect(sc.Load[0].Rate.From).To(BeNumerically("==", 100))
	})

	DescribeTable("reporting bad input at file:line:col with what to write instead",
		func(src string, want ...string) {
			_, err := scenarios.Parse("bad.yaml", []byte(src))
			Expect(err).To(HaveOccurred())
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		// A typo in a key must be caught, not silently ignored, with a suggestion.
		Entry("unknown top-level key", strings.Replace(good, "events:", "evnts:", 1),
			`bad.yaml:5:1: unknown key "evnts" here; did you mean "events"?`),
		// Unknown keys inside nested sections are found too, with the section named.
		Entry("unknown key in the proxy", strings.Replace(good, "balance: least_conn", "balanse: least_conn", 1),
			`bad.yaml:2:24: unknown key "balanse"`, `did you mean "balance"?`),
		// A duration with no unit is a classic mistake.
		Entry("bad duration", strings.Replace(good, "duration: 2s", "duration: 2", 1), "bad.yaml:4:", "duration"),
		// A rate must say per what.
		Entry("bad rate", strings.Replace(good, "rate: 100/s", "rate: 100/fortnight", 1), "bad.yaml:4:", "write 400/s"),
		// Events naming a node that does not exist are caught before the run.
		Entry("unknown server in an event", strings.Replace(good, "crash: server2", "crash: server9", 1),
			`bad.yaml:5:`, `no server named "server9"`),
		// An event after the end of the run would never happen.
		Entry("event beyond the run", strings.Replace(good, "at: 1s", "at: 9s", 1),
			`bad.yaml:5:`, "outside the run"),
		// Expectations are compiled at load time, with the position of the bad one.
		Entry("expectation that does not compile", strings.Replace(good, "latency.p99 < 50ms", "latency.p99 < 5", 1),
			`bad.yaml:6:`, "does not compile"),
		// A misspelt figure in an expectation names itself.
		Entry("unknown figure", strings.Replace(good, "ledger.lost", "ledger.lots", 1), "lots"),
		// The balance policy is checked against the registry.
		Entry("unknown policy", strings.Replace(good, "least_conn", "fastest", 1), `policy "fastest" is not known`),
		// A proxy mode outside the drawings is refused.
		Entry("unknown mode", strings.Replace(good, "mode: reverse", "mode: sideways", 1), `bad.yaml:2:`, `mode "sideways"`),
		// Broken YAML names the line.
		Entry("syntax error", "name: x\nservers: [\n", "bad.yaml:"),
		// Both loop kinds at once is ambiguous.
		Entry("rate and connections", strings.Replace(good, "rate: 100/s", "rate: 100/s, connections: 4", 1), "keep one"),
	)

	It("should report every problem of a file, not just the first", func() {
		src := strings.Replace(strings.Replace(good, "crash: server2", "crash: server9", 1), "evnts", "x", 1)
		src = strings.Replace(src, "ledger.lost == 0", "ledger.nope == 0", 1)
		src = strings.Replace(src, "proxy:", "proxi: {}\nproxy:", 1)
		_, err := scenarios.Parse("bad.yaml", []byte(src))
		var ps scenarios.Problems
		Expect(err).To(BeAssignableToTypeOf(ps))
		Expect(err.(scenarios.Problems)).To(HaveLen(3))
	})

	It("should load every shipped scenario", func() {
		list, err := scenarios.LoadAll("demo", "library")
		Expect(err).NotTo(HaveOccurred())
		Expect(list).NotTo(BeEmpty())
	})
})
