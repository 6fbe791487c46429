//go:build !linux

package socket

import "syscall"

const available = false

const (
	sysRead  = 0
	sysWrite = 0
)

func rawIO(trap, fd uintptr, b []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }

// Peek reports whether fd, a non-blocking socket, has a byte to read or has
// reached its end (or an error): readable is false only when a read would
// wait. It reads nothing.
func Peek(fd uintptr) (readable, end bool) {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false, false
		case err != nil || n == 0:
			return true, true
		}
		return true, false
	}
}
