package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// errNotPinned: without pinning no core is the load core.
var errNotPinned = errors.New("not pinned")

// wakeIRQs are the /proc/interrupts rows one CPU raises on another to wake
// or preempt a task there: rescheduling and function-call interrupts.
var wakeIRQs = []string{"RES:", "CAL:"}

// readWakeups returns how many wake-up interrupts cpu has received since
// boot (the sum of the wakeIRQs rows in its column of /proc/interrupts).
func readWakeups(cpu int) (int64, error) {
	b, err := os.ReadFile("/proc/interrupts")
	if err != nil {
		return 0, err
	}
	return parseWakeups(b, cpu)
}

// parseWakeups reads cpu's column of the wakeIRQs rows. The header names
// the columns (CPU0 CPU1 …): offline CPUs have none, so the index is looked
// up rather than assumed.
func parseWakeups(b []byte, cpu int) (int64, error) {
	header, rest, _ := bytes.Cut(b, []byte("\n"))
	col := -1
	for i, name := range strings.Fields(string(header)) {
		if name == "CPU"+strconv.Itoa(cpu) {
			col = i
		}
	}
	if col < 0 {
		return 0, fmt.Errorf("interrupts: no column for CPU%d", cpu)
	}
	var total int64
	found := 0
	for line := range strings.SplitSeq(string(rest), "\n") {
		f := strings.Fields(line)
		if len(f) <= col+1 || !slices.Contains(wakeIRQs, f[0]) {
			continue
		}
		n, err := strconv.ParseInt(f[col+1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("interrupts: %s CPU%d %q: %w", f[0], cpu, f[col+1], err)
		}
		total += n
		found++
	}
	if found == 0 {
		return 0, fmt.Errorf("interrupts: no %s rows", strings.Join(wakeIRQs, " "))
	}
	return total, nil
}
