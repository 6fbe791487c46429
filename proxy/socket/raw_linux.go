package socket

import (
	"syscall"
	"unsafe"
)

const available = true

const (
	sysRead  = syscall.SYS_READ
	sysWrite = syscall.SYS_WRITE
)

// rawIO is read(2) or write(2) on a non-blocking socket: it cannot block,
// so syscall.RawSyscall (no entersyscall/exitsyscall) is safe.
func rawIO(trap, fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	for {
		n, _, errno := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}

// Peek reports whether fd, a non-blocking socket, has a byte to read or has
// reached its end (or an error): readable is false only when a read would
// wait. It reads nothing.
func Peek(fd uintptr) (readable, end bool) {
	var b [1]byte
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return false, false
		case errno != 0 || n == 0:
			return true, true
		}
		return true, false
	}
}
