// Package socket reads and writes a TCP (or Unix stream) connection's
// non-blocking socket with raw system calls, inside the connection's
// syscall.RawConn, so the calls skip the Go scheduler's system-call
// bookkeeping.
//
// A plain net.Conn Read or Write tells the scheduler it enters a system
// call. With one P (GOMAXPROCS=1, how proxies are pinned) sysmon takes the P
// away from a call that lasts past its 20 µs tick — a loopback write, which
// runs the receiver's TCP stack and wakes it, often does — and starts
// another thread to run it: two futex calls and two or three context
// switches, for a call that could not block anyway. Calls that skip the
// bookkeeping never lose their P, and sysmon, finding nothing to take,
// backs off to sleeping 10 ms at a time.
//
//	Stream.Read  ──RawConn.Read(fd lock, deadline)──▶ read(2)  ──EAGAIN──▶ poller wait, again
//	Stream.Write ──RawConn.Write(fd lock, deadline)─▶ write(2) ──EAGAIN──▶ poller wait, rest
//
// The connection's lock is held during each call, as net.Conn holds it, so
// a Close from another goroutine cannot let the descriptor be reused under
// the call. Deadlines are the connection's own. Errors are *net.OpError
// like net.Conn's, and a read of nothing at the end is io.EOF.
//
// Peek reports without consuming whether bytes (or the end) are there.
//
// New unwraps wrappers that have a NetConn() net.Conn method (and never a
// TLS connection) and returns nil where raw calls are not available (not
// Linux, TLS, another kind of connection); callers then use the connection
// itself.
package socket
