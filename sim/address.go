package sim

import (
	"fmt"
	"net"
	"sync"
)

// The loopback blocks each kind of node takes its address from. Linux routes
// all of 127.0.0.0/8 to lo, so every node can have an address of its own.
const (
	serverBlock = 1 // 127.0.1.N
	clientBlock = 2 // 127.0.2.N
	proxyBlock  = 3 // 127.0.3.N
	linkBlock   = 4 // 127.0.4.N
)

// addresses hands out loopback addresses, one per node, per block.
type addresses struct {
	mu   sync.Mutex
	next map[int]int
}

func (a *addresses) take(block int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == nil {
		a.next = map[int]int{}
	}
	a.next[block]++
	n := a.next[block]
	return fmt.Sprintf("127.0.%d.%d", block+(n-1)/250*10, (n-1)%250+1)
}

// FreePort returns a port that was free on host a moment ago, for programs
// (external proxies) that cannot be told to listen on port 0.
func FreePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
