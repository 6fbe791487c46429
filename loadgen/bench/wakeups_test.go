package bench

import (
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("wake-up interrupts", func() {
	// Two online CPUs out of three: CPU1 is offline, so the columns are
	// CPU0 and CPU2 and the second column is CPU2's.
	const table = `           CPU0       CPU2       
 24:          1          0  IO-APIC   5-edge      ACPI:Ged
NMI:          0          0   Non-maskable interrupts
LOC:   30304410   23390337   Local timer interrupts
RES:       3028     269324   Rescheduling interrupts
CAL:        642      98338   Function call interrupts
TLB:          0          0   TLB shootdowns
ERR:          0
`

	DescribeTable("should add the rescheduling and function-call rows of the CPU's own column",
		func(cpu int, want int64) {
			Expect(parseWakeups([]byte(table), cpu)).To(Equal(want))
		},
		// the first column
		Entry("CPU0", 0, int64(3028+642)),
		// the second column belongs to CPU2, not CPU1
		Entry("CPU2", 2, int64(269324+98338)),
	)

	It("should say so when the CPU has no column", func() {
		_, err := parseWakeups([]byte(table), 1)
		Expect(err).To(MatchError(ContainSubstring("no column for CPU1")))
	})

	It("should say so when the rows are missing", func() {
		_, err := parseWakeups([]byte("   CPU0\nLOC:  5  Local timer interrupts\n"), 0)
		Expect(err).To(MatchError(ContainSubstring("no RES: CAL: rows")))
	})

	It("should read this machine's table", func() {
		if b, err := os.ReadFile("/proc/interrupts"); err != nil || !strings.Contains(string(b), "RES:") {
			Skip("this kernel does not list rescheduling interrupts")
		}
		n, err := readWakeups(0)
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeNumerically(">=", 0))
	})
})

var _ = Describe("the waited-on note", func() {
	It("should name the repetitions where the load core waited, with the CPU per request in each group", func() {
		t := TargetResult{Name: "reverse",
			CPUPerReq:   NewSpread([]float64{37.0, 63.9, 38.2, 65.2}),
			LoadWakeups: NewSpread([]float64{0.02, 0.52, 0.01, 0.57})}
		Expect(waitedNote(t)).To(Equal("reverse: the load core waited on it in 2 of 4 repetitions (over 0.2 wake-ups per request); " +
			"its CPU per request there, 63.9, 65.2 µs, includes waking that core; in the others 37.0, 38.2 µs\n"))
	})

	It("should say nothing when the load core never waited or the figures are not paired", func() {
		calm := TargetResult{Name: "nginx", CPUPerReq: NewSpread([]float64{29, 30}), LoadWakeups: NewSpread([]float64{0, 0.01})}
		Expect(waitedNote(calm)).To(BeEmpty())
		unpaired := TargetResult{Name: "x", CPUPerReq: NewSpread([]float64{29}), LoadWakeups: NewSpread([]float64{0.5, 0.6})}
		Expect(waitedNote(unpaired)).To(BeEmpty())
	})
})
