package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// sinkQuery is what a connection sends first to ask a sink for the bytes it
// has counted instead of streaming to it. Bulk streams start with zeros, so
// they never look like it.
const sinkQuery = "proxylab-sink-count\n"

// ServeSink serves the far end of the CONNECT throughput figure on ln until
// ctx is done: every connection is read to its end with a 256 KiB buffer and
// its bytes counted, except one that starts with the count query, which gets
// the total so far as a decimal line. `proxylab bench sink` runs it as its
// own process, so that the stream's two ends are two programs, as they are
// with a real client and server.
func ServeSink(ctx context.Context, ln net.Listener) error {
	var (
		total atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			_ = ln.Close()
			wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sink: %w", err)
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				_ = c.Close()
			}()
			drainSink(c, &total)
		})
	}
}

// drainSink counts what c sends until its end, or answers a count query.
func drainSink(c net.Conn, total *atomic.Int64) {
	buf := make([]byte, tunnelBuf)
	head := buf[:len(sinkQuery)]
	n, err := io.ReadFull(c, head)
	if n == len(head) && bytes.Equal(head, []byte(sinkQuery)) {
		_, _ = c.Write(strconv.AppendInt(nil, total.Load(), 10))
		return
	}
	total.Add(int64(n))
	for err == nil {
		n, err = c.Read(buf)
		total.Add(int64(n))
	}
}

// sinkCount asks the sink at addr how many bytes it has counted.
func sinkCount(ctx context.Context, addr string) (int64, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("sink: %w", err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, sinkQuery); err != nil {
		return 0, fmt.Errorf("sink: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(c, 32))
	if err != nil {
		return 0, fmt.Errorf("sink: %w", err)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sink: count %q: %w", b, err)
	}
	return n, nil
}
