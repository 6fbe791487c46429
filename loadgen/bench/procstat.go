package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTick = 100

// procStat is what bench reads of one process from /proc/PID/stat.
type procStat struct {
	ppid                         int
	utime, stime, cutime, cstime int64 // clock ticks
}

// readStat parses /proc/PID/stat. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("proc stat: no ')' after the command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, utime..cstime are 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("proc stat: %d fields after the command name, want ≥ 15", len(f))
	}
	var s procStat
	var err error
	num := func(k int) int64 {
		v, e := strconv.ParseInt(f[k], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("proc stat: field %d %q: %w", k+3, f[k], e)
		}
		return v
	}
	s.ppid = int(num(1))
	s.utime, s.stime, s.cutime, s.cstime = num(11), num(12), num(13), num(14)
	return s, err
}

// procTree is a process and its live descendants, found again on every read
// so that workers forked later count too.
type procTree struct{ root int }

// pids returns the root and its live descendants.
func (t procTree) pids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{t.root}
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	out := []int{t.root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// cpu is the CPU time the tree has used: utime+stime of every live process
// plus the children the root (and its descendants) already reaped.
func (t procTree) cpu() (time.Duration, error) {
	var ticks int64
	found := false
	for _, pid := range t.pids() {
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		found = true
		ticks += st.utime + st.stime + st.cutime + st.cstime
	}
	if !found {
		return 0, fmt.Errorf("process %d: gone", t.root)
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// memory sums a /proc/PID/status field (VmRSS, VmHWM) over the tree, in bytes.
func (t procTree) memory(field string) int64 {
	var total int64
	for _, pid := range t.pids() {
		total += statusField(pid, field)
	}
	return total
}

// statusField reads a "Field:   123 kB" line of /proc/PID/status, in bytes.
func statusField(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			return 0
		}
		kb, _ := strconv.ParseInt(fs[0], 10, 64)
		return kb * 1024
	}
	return 0
}

// listenerPID finds the process listening on the TCP port: the socket's
// inode from /proc/net/tcp{,6}, then the process holding it whose parent does
// not (the master of nginx-style master/worker trees). 0 when none is
// visible (another user's process, or another machine).
func listenerPID(port int) int {
	inodes := map[string]bool{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, ino := range listenInodes(name, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	holders := map[int]bool{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name()))
			if err != nil {
				continue
			}
			if ino, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(ino, "]")] {
				holders[pid] = true
				break
			}
		}
	}
	best := 0
	for pid := range holders {
		st, err := readStat(pid)
		if err != nil || holders[st.ppid] {
			continue
		}
		if best == 0 || pid < best {
			best = pid
		}
	}
	return best
}

// listenInodes returns the inodes of sockets listening on port in a
// /proc/net/tcp-format file.
func listenInodes(name string, port int) []string {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	want := fmt.Sprintf(":%04X", port)
	var out []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// stealTicks is the machine's CPU steal so far, from /proc/stat, in ticks.
func stealTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	v, _ := strconv.ParseInt(f[8], 10, 64)
	return v
}

// selfCPU is this process's own CPU time (not its children's).
func selfCPU() time.Duration {
	st, err := readStat(os.Getpid())
	if err != nil {
		return 0
	}
	return time.Duration(st.utime+st.stime) * time.Second / clockTick
}

// establishedTo counts established TCP connections whose remote end is
// port on loopback: the client side of connections to a local proxy.
func establishedTo(port int) int {
	want := fmt.Sprintf(":%04X", port)
	n := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) >= 4 && f[3] == "01" && strings.HasSuffix(f[2], want) {
				n++
			}
		}
	}
	return n
}
