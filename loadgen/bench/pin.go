package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// Cores of the section 5 method: the proxy under test alone on proxyCore, the
// load generator and the backend on loadCore.
const (
	loadCore  = 0
	proxyCore = 1
)

// pinning puts the proxies on proxyCore and this process on loadCore, and
// undoes the latter at the end.
type pinning struct {
	on      bool
	restore map[int]unix.CPUSet // thread id → its mask before
}

// cores counts the CPUs this process may run on.
func cores() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 1
	}
	return set.Count()
}

// newPinning pins every thread of this process to loadCore when want is
// true and there are two usable cores (loadCore and proxyCore among them).
func newPinning(want bool) (*pinning, error) {
	p := &pinning{restore: map[int]unix.CPUSet{}}
	if !want {
		return p, nil
	}
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil || all.Count() < 2 || !all.IsSet(loadCore) || !all.IsSet(proxyCore) {
		return p, nil
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return p, nil // util-linux is missing: run unpinned (Env.Pinned says so)
	}
	var load unix.CPUSet
	load.Set(loadCore)
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return p, fmt.Errorf("pin: %w", err)
	}
	for _, t := range tids {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		var before unix.CPUSet
		if unix.SchedGetaffinity(tid, &before) != nil {
			continue
		}
		if unix.SchedSetaffinity(tid, &load) == nil {
			p.restore[tid] = before
		}
	}
	p.on = true
	return p, nil
}

// proxyArgv prefixes argv with taskset when pinning is on.
func (p *pinning) proxyArgv(argv []string) []string {
	if !p.on {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(proxyCore)}, argv...)
}

// backendArgv prefixes argv with taskset onto the load core when pinning is on.
func (p *pinning) backendArgv(argv []string) []string {
	if !p.on {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(loadCore)}, argv...)
}

// undo gives this process's threads back their masks (threads started since
// get every core this process had). It is idempotent.
func (p *pinning) undo() {
	if !p.on {
		return
	}
	var any unix.CPUSet
	for _, m := range p.restore {
		any = m
		break
	}
	tids, _ := os.ReadDir("/proc/self/task")
	for _, t := range tids {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		m, ok := p.restore[tid]
		if !ok {
			m = any
		}
		_ = unix.SchedSetaffinity(tid, &m)
	}
	p.on = false
}
