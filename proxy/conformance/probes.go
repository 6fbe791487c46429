package conformance

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The multi-step probes of the catalogue. Each opens its own connections
// through the Session and returns what it saw; the runner adds what reached
// the origin and judges.

func probeWebSocket(ctx context.Context, s *Session) (*Observation, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(s.cfg.Timeout))
	io.WriteString(c, s.Fill("GET {target}?do="+DoWebSocket+" HTTP/1.1\r\nHost: {host}\r\n{auth}"+
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return &Observation{Closed: true}, nil
	}
	o := &Observation{Responses: []Response{{Status: resp.StatusCode, Header: resp.Header}}}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		io.Copy(io.Discard, resp.Body)
		return o, nil
	}
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		o.Notes = append(o.Notes, "no echo through the upgraded connection")
		o.Responses[0].Status = -101
	}
	return o, nil
}

func probeBigHeader(ctx context.Context, s *Session) (*Observation, error) {
	big := strings.Repeat("a", s.cfg.HeaderLimit+4096)
	return s.Exchange(ctx, s.Fill("GET {target} HTTP/1.1\r\nHost: {host}\r\n{auth}X-Big: "+big+"\r\n\r\n"))
}

func probeBigURI(ctx context.Context, s *Session) (*Observation, error) {
	big := strings.Repeat("a", s.cfg.HeaderLimit+4096)
	return s.Exchange(ctx, s.Fill("GET {target}?q="+big+" HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"))
}

func probeBigContentLength(ctx context.Context, s *Session) (*Observation, error) {
	n := strconv.FormatInt(s.cfg.BodyLimit+1, 10)
	// Only the header is sent: a conforming proxy answers without waiting for
	// a body it is going to refuse anyway.
	return s.Exchange(ctx, s.Fill("POST {target} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: "+n+"\r\n\r\n"))
}

func probeBigChunked(ctx context.Context, s *Session) (*Observation, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetWriteDeadline(time.Now().Add(s.cfg.Timeout))
	io.WriteString(c, s.Fill("POST {target} HTTP/1.1\r\nHost: {host}\r\n{auth}Transfer-Encoding: chunked\r\n\r\n"))
	const chunk = 16 << 10
	line := fmt.Sprintf("%x\r\n%s\r\n", chunk, strings.Repeat("b", chunk))
	for sent := int64(0); sent <= s.cfg.BodyLimit+chunk; sent += chunk {
		if _, err := io.WriteString(c, line); err != nil {
			break // the proxy cut the body off: what it answered is read below
		}
	}
	io.WriteString(c, "0\r\n\r\n")
	return s.Read(c, http.MethodPost, s.cfg.Timeout), nil
}

// slack is how much later than its deadline a proxy may cut a slow client.
const slack = time.Second

func probeSlowHeaders(ctx context.Context, s *Session) (*Observation, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	start := time.Now()
	io.WriteString(c, s.Fill("GET {target} HTTP/1.1\r\nHost: {host}\r\n{auth}"))
	tick := max(s.cfg.ClientHeaderTimeout/5, 10*time.Millisecond)
	o := trickle(ctx, c, "X-Slow: 1\r\n", tick, s.cfg.ClientHeaderTimeout+slack)
	s.note(o, "header deadline", s.cfg.ClientHeaderTimeout, time.Since(start))
	return o, nil
}

func probeSlowBody(ctx context.Context, s *Session) (*Observation, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	start := time.Now()
	io.WriteString(c, s.Fill("POST {target} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: 100000\r\n\r\n"))
	tick := max(s.cfg.ClientBodyTimeout/5, 10*time.Millisecond)
	o := trickle(ctx, c, "x", tick, s.cfg.ClientBodyTimeout+slack)
	s.note(o, "body deadline", s.cfg.ClientBodyTimeout, time.Since(start))
	return o, nil
}

func probeSlowBodyRefused(ctx context.Context, s *Session) (*Observation, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	start := time.Now()
	// Refused before the body is read: an unknown Host for a reverse proxy,
	// a loopback target for a forward one.
	head := "POST {path} HTTP/1.1\r\nHost: unknown.invalid\r\n"
	if s.cfg.Mode == Forward {
		head = "POST http://127.0.0.1:{cport}{path} HTTP/1.1\r\nHost: 127.0.0.1:{cport}\r\n{auth}"
	}
	io.WriteString(c, s.Fill(head+"Content-Length: 100000\r\n\r\n"))
	tick := max(s.cfg.ClientBodyTimeout/5, 10*time.Millisecond)
	o := trickle(ctx, c, "x", tick, s.cfg.ClientBodyTimeout+slack)
	s.note(o, "body deadline", s.cfg.ClientBodyTimeout, time.Since(start))
	return o, nil
}

func probeSlowReader(ctx context.Context, s *Session) (*Observation, error) {
	// A small receive window so that the proxy, not this socket, holds
	// what is not read.
	d := net.Dialer{Timeout: s.cfg.Timeout, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
		})
	}}
	c, err := s.dial(ctx, d, "http/1.1")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	start := time.Now()
	c.SetWriteDeadline(time.Now().Add(s.cfg.Timeout))
	io.WriteString(c, s.Fill("GET {target}?do="+DoBig+" HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"))
	// Read nothing for the deadline and the slack, then everything: a proxy
	// that cut the connection ends before the whole body.
	t := time.NewTimer(s.cfg.ClientWriteTimeout + slack)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return &Observation{}, nil
	}
	o := &Observation{}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(s.cfg.Timeout))
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		o.Closed = !isTimeout(err)
		return o, nil
	}
	o.Responses = append(o.Responses, Response{Status: resp.StatusCode, Header: resp.Header})
	n, err := io.Copy(io.Discard, resp.Body)
	o.Closed = n < BigBody && err != nil && !isTimeout(err)
	o.Notes = append(o.Notes, fmt.Sprintf("write deadline %v, cut after more than %v with %d of %d bytes read",
		s.cfg.ClientWriteTimeout, (s.cfg.ClientWriteTimeout+slack).Round(time.Millisecond), n, BigBody))
	if !o.Closed {
		o.Notes[len(o.Notes)-1] = fmt.Sprintf("not cut: %d of %d bytes read after %v", n, BigBody,
			time.Since(start).Round(time.Millisecond))
	}
	return o, nil
}

// trickle writes piece every tick until the proxy closes c or answers, or
// until limit; it records any response.
func trickle(ctx context.Context, c net.Conn, piece string, tick, limit time.Duration) *Observation {
	o := &Observation{}
	got := make(chan *Observation, 1)
	go func() {
		br := bufio.NewReader(c)
		r := &Observation{}
		c.SetReadDeadline(time.Now().Add(limit))
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err == nil {
			r.Responses = append(r.Responses, Response{Status: resp.StatusCode, Header: resp.Header})
			io.Copy(io.Discard, resp.Body)
			_, err = br.Peek(1)
		}
		r.Closed = err != nil && !isTimeout(err)
		got <- r
	}()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case r := <-got:
			return r
		case <-ctx.Done():
			c.Close()
			<-got
			return o
		case <-t.C:
			c.SetWriteDeadline(time.Now().Add(tick))
			io.WriteString(c, piece)
		}
	}
}

func (s *Session) note(o *Observation, what string, deadline, took time.Duration) {
	o.Notes = append(o.Notes, fmt.Sprintf("%s %v, cut after %v", what, deadline, took.Round(time.Millisecond)))
	if o.Closed && took > deadline+slack {
		o.Closed = false
		o.Notes = append(o.Notes, "cut too late")
	}
}

func probeTunnel(ctx context.Context, s *Session) (*Observation, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(s.cfg.Timeout))
	io.WriteString(c, s.Fill("CONNECT {tunnel} HTTP/1.1\r\nHost: {tunnel}\r\n{auth}\r\n"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return &Observation{Closed: true}, nil
	}
	o := &Observation{Responses: []Response{{Status: resp.StatusCode, Header: resp.Header}}}
	if resp.StatusCode != http.StatusOK {
		return o, nil
	}
	io.WriteString(c, s.Fill("GET {path} HTTP/1.1\r\nHost: {tunnel}\r\n\r\n"))
	inner, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil || inner.Header.Get(OriginHeader) == "" {
		o.Notes = append(o.Notes, "nothing came back through the tunnel")
		o.Responses[0].Status = -200
		return o, nil
	}
	io.Copy(io.Discard, inner.Body)
	return o, nil
}

func probeUpstreamTimeout(ctx context.Context, s *Session) (*Observation, error) {
	wait := s.cfg.UpstreamHeaderTimeout + 2*time.Second
	raw := s.Fill("POST {target}?do=" + DoSleep + "&for=" + wait.String() + " HTTP/1.1\r\nHost: {host}\r\n{auth}" +
		"Content-Length: 5\r\n\r\nhello")
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	io.WriteString(c, raw)
	return s.Read(c, http.MethodPost, wait+s.cfg.Timeout), nil
}

func probeExpect417(ctx context.Context, s *Session) (*Observation, error) {
	o, err := s.Exchange(ctx, s.Fill("POST {target}?do="+DoReject+" HTTP/1.1\r\nHost: {host}\r\n{auth}"+
		"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"))
	if err != nil {
		return nil, err
	}
	next, err := s.Exchange(ctx, s.Fill("GET {target}/next HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"))
	if err != nil {
		return nil, err
	}
	o.Responses = append(o.Responses, next.Responses...)
	return o, nil
}
