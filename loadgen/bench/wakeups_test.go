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
