package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// tunnelBuf is the write and read size of the bulk stream.
const tunnelBuf = 256 << 10

// sink is a TCP server that reads and discards everything, counting bytes:
// the far end of the CONNECT throughput figure.
type sink struct {
	ln    net.Listener
	bytes atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	once  sync.Once
}

func startSink(host string) (*sink, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("tunnel sink: %w", err)
	}
	s := &sink{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.drain(c)
	}
}

func (s *sink) drain(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	buf := make([]byte, tunnelBuf)
	for {
		n, err := c.Read(buf)
		s.bytes.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// close stops the sink and its connections; it is idempotent.
func (s *sink) close(context.Context) error {
	s.once.Do(func() {
		_ = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return nil
}

// stream sends bulk data for d to the sink on `streams` connections at once,
// directly or each through a CONNECT tunnel of the forward proxy at
// proxyAddr, and returns the bytes the sink received meanwhile and the time
// it took.
func (s *sink) stream(ctx context.Context, proxyAddr string, streams int, d time.Duration) (int64, time.Duration, error) {
	conns := make([]net.Conn, 0, streams)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range streams {
		c, err := s.open(ctx, proxyAddr)
		if err != nil {
			return 0, 0, err
		}
		conns = append(conns, c)
	}
	before := s.bytes.Load()
	start := time.Now()
	end := start.Add(d)
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { errs[i] = pump(ctx, c, end) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	return s.bytes.Load() - before, elapsed, nil
}

// open connects to the sink, through a CONNECT tunnel when proxyAddr is set.
func (s *sink) open(ctx context.Context, proxyAddr string) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var dialer net.Dialer
	target := s.addr()
	dial := target
	if proxyAddr != "" {
		dial = proxyAddr
	}
	c, err := dialer.DialContext(dctx, "tcp", dial)
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial %s: %w", dial, err)
	}
	if proxyAddr != "" {
		if err := connectThrough(c, target); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// pump writes to c until end, or until ctx is done.
func pump(ctx context.Context, c net.Conn, end time.Time) error {
	buf := make([]byte, tunnelBuf)
	_ = c.SetWriteDeadline(end)
	stop := context.AfterFunc(ctx, func() { _ = c.SetWriteDeadline(time.Now()) })
	defer stop()
	for time.Now().Before(end) {
		if _, err := c.Write(buf); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			return fmt.Errorf("tunnel: write: %w", err)
		}
	}
	return nil
}

// connectThrough asks the proxy on c for a tunnel to target.
func connectThrough(c net.Conn, target string) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target); err != nil {
		return fmt.Errorf("tunnel: CONNECT %s: %w", target, err)
	}
	// Read byte by byte up to the end of the head so no tunnel byte is left
	// in a buffer (the sink never talks back anyway).
	br := bufio.NewReaderSize(c, 16)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return fmt.Errorf("tunnel: CONNECT %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tunnel: CONNECT %s: proxy answered %s", target, resp.Status)
	}
	return nil
}
