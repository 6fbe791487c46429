package forward

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// tunnelSet tracks open tunnels so Close can end them all.
type tunnelSet struct {
	mu sync.Mutex
	m  map[*tunnel]struct{}
}

// track adds t and reports whether the proxy is still open; after Close it
// closes t itself, so no tunnel outlives Close.
func (p *Proxy) track(s *tunnelSet, t *tunnel) bool {
	s.add(t)
	if p.ctx.Err() != nil {
		t.close()
		return false
	}
	return true
}

func (s *tunnelSet) add(t *tunnel) {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[*tunnel]struct{})
	}
	s.m[t] = struct{}{}
	s.mu.Unlock()
}

func (s *tunnelSet) remove(t *tunnel) {
	s.mu.Lock()
	delete(s.m, t)
	s.mu.Unlock()
}

func (s *tunnelSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *tunnelSet) closeAll() {
	s.mu.Lock()
	ts := make([]*tunnel, 0, len(s.m))
	for t := range s.m {
		ts = append(ts, t)
	}
	s.mu.Unlock()
	for _, t := range ts {
		t.close()
	}
}

// tunnel is one relayed connection pair. client is the connection as
// accepted (it may be the proxy's limitConn wrapper, whose Close releases
// the connection slot); the relay itself uses the raw sockets underneath.
type tunnel struct {
	client   net.Conn
	mu       sync.Mutex
	upstream net.Conn
	closed   bool
}

// setUpstream attaches the upstream side; it reports false (and closes c)
// when the tunnel was closed meanwhile.
func (t *tunnel) setUpstream(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		_ = c.Close()
		return false
	}
	t.upstream = c
	return true
}

// close closes both sides once; safe from any goroutine.
func (t *tunnel) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	up := t.upstream
	t.mu.Unlock()
	_ = t.client.Close()
	if up != nil {
		_ = up.Close()
	}
}

// errTunnelIdle ends a tunnel in which nothing moved for TunnelIdle.
var errTunnelIdle = errors.New("tunnel idle timeout")

// relay copies both ways until both sides are done, then closes both. It
// keeps splice(2): each direction is one io.Copy between the raw
// *net.TCPConns (bytes are counted from io.Copy's return value, never by a
// wrapper). A direction that reaches EOF half-closes its destination
// (CloseWrite) and the other direction goes on. Idleness is checked with
// read deadlines: each direction re-arms a deadline of idle; when a period
// ends with no byte moved in it and the other direction's last period was
// idle too (or it is finished), the tunnel is closed.
func (p *Proxy) relay(t *tunnel, idle time.Duration) (up, down int64, err error) {
	t.mu.Lock()
	client, upstream := rawConn(t.client), t.upstream
	t.mu.Unlock()
	clearDeadlines(client)
	clearDeadlines(upstream)
	var st idleState
	var wg sync.WaitGroup
	var downErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		down, downErr = pipe(client, upstream, idle, &st, 1)
		if downErr != nil {
			t.close() // unblock the other direction
		}
	}()
	up, err = pipe(upstream, client, idle, &st, 0)
	if err != nil {
		t.close()
	}
	wg.Wait()
	t.close()
	return up, down, errors.Join(dropClosed(err), dropClosed(downErr))
}

// dropClosed hides the error a direction sees when the tunnel was closed
// under it: that is how every tunnel ends, not a failure.
func dropClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// idleState is shared by the two directions of a tunnel.
type idleState struct {
	idle [2]atomic.Bool // the direction's last deadline period moved nothing, or it is done
}

// pipe copies src to dst until EOF (then half-closes dst), an error, or the
// tunnel goes idle.
func pipe(dst, src net.Conn, idle time.Duration, st *idleState, me int) (int64, error) {
	var total int64
	for {
		_ = src.SetReadDeadline(time.Now().Add(idle))
		n, err := io.Copy(dst, src)
		total += n
		if err == nil { // EOF from src
			st.idle[me].Store(true)
			closeWrite(dst)
			return total, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			// Includes net.ErrClosed: the other direction, Proxy.Close or
			// the server's shutdown closed a side; the caller ends the tunnel.
			st.idle[me].Store(true)
			return total, err
		}
		if n > 0 {
			st.idle[me].Store(false)
			continue
		}
		st.idle[me].Store(true)
		if st.idle[1-me].Load() {
			return total, errTunnelIdle
		}
	}
}

// closeWrite half-closes c when it can, so the peer sees EOF while the
// other direction keeps flowing.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}
