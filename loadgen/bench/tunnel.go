package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// tunnelBuf is the write and read size of the bulk stream.
const tunnelBuf = 256 << 10

// sink is the far end of the CONNECT figure: `proxylab bench sink` as a
// child process on the load core, or ServeSink in this process when no
// proxylab binary is at hand.
type sink struct {
	address string
	stop    func(context.Context) error
}

func (s *sink) addr() string { return s.address }

// close stops the sink; it is idempotent.
func (s *sink) close(ctx context.Context) error { return s.stop(ctx) }

// startSink starts the sink as a child (GOMAXPROCS=1, pinned to the load
// core like the backend), or in this process when exe is "".
func (r *runner) startSink(ctx context.Context, exe string) (*sink, error) {
	listen := net.JoinHostPort(r.cfg.Host, "0")
	if exe != "" {
		c, err := startChild(ctx, "sink", r.pin.backendArgv([]string{exe, "bench", "sink", "--listen", listen}), []string{"GOMAXPROCS=1"})
		if err != nil {
			return nil, fmt.Errorf("tunnel %w", err)
		}
		return &sink{address: c.addr, stop: c.stop}, nil
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("tunnel sink: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ServeSink(sctx, ln)
	}()
	var once sync.Once
	return &sink{address: ln.Addr().String(), stop: func(context.Context) error {
		once.Do(func() { cancel(); <-done })
		return nil
	}}, nil
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
	before, err := sinkCount(ctx, s.address)
	if err != nil {
		return 0, 0, err
	}
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
	after, err := sinkCount(ctx, s.address)
	if err != nil {
		return 0, 0, err
	}
	return after - before, elapsed, nil
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
