//go:build !linux

package loadgen

import "errors"

// rawExchange says whether fastConn writes requests inside its reads (see
// fastConn); elsewhere than Linux it writes, then reads.
const rawExchange = false

const (
	sysRead  = 0
	sysWrite = 1
)

// rawIO is not used where rawExchange is false.
func rawIO(trap, fd uintptr, b []byte) (int, error) {
	return 0, errors.New("raw socket I/O is Linux only")
}
