package loadgen

import (
	"syscall"
	"unsafe"
)

// rawExchange says whether fastConn writes requests inside its reads (see
// fastConn); elsewhere than Linux it writes, then reads.
const rawExchange = true

const (
	sysRead  = syscall.SYS_READ
	sysWrite = syscall.SYS_WRITE
)

// rawIO is read(2) or write(2) on the non-blocking socket fd, through
// syscall.RawSyscall: it cannot block, so it skips the scheduler's
// entersyscall/exitsyscall, and sysmon sees no P sitting in a system call to
// hand off to another thread (which it does after 20µs, about the time a
// loopback write takes).
func rawIO(trap, fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, errno := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch errno {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		default:
			return 0, errno
		}
	}
}
