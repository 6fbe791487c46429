package proxy

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
)

// TrackUpgrades wraps w so that a connection hijacked through it (as
// httputil.ReverseProxy does for WebSocket and other upgrades) is registered
// with TrackHijacked and untracked when closed. Wrap only requests that may
// upgrade; everything else of w stays reachable through Unwrap.
func TrackUpgrades(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	return &trackingWriter{ResponseWriter: w, r: r}
}

type trackingWriter struct {
	http.ResponseWriter
	r *http.Request
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Flush forwards to the wrapped writer.
func (t *trackingWriter) Flush() { http.NewResponseController(t.ResponseWriter).Flush() }

// Hijack takes over the connection and tracks it until it is closed.
func (t *trackingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(t.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	tc := &trackedConn{Conn: c}
	tc.untrack = TrackHijacked(t.r, c)
	return tc, brw, nil
}

type trackedConn struct {
	net.Conn
	once    sync.Once
	untrack func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.untrack)
	return err
}

// ReadFrom keeps splice(2) available when the inner conn supports it.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// WriteTo keeps splice(2) available when the inner conn supports it.
func (c *trackedConn) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := c.Conn.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, struct{ io.Reader }{c.Conn})
}

// newErrorLog adapts fn to the *log.Logger net/http wants; nil fn drops lines.
func newErrorLog(fn func(string)) *log.Logger {
	if fn == nil {
		return log.New(io.Discard, "", 0)
	}
	return log.New(logFunc(fn), "", 0)
}

type logFunc func(string)

func (f logFunc) Write(p []byte) (int, error) {
	f(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
