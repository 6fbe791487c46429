package conformance

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Received is one request as the origin parsed it off the wire.
type Received struct {
	// Case is the case id taken from the path (/c/<id>/…); "" for requests
	// that named no case.
	Case string
	// Method, Target (the request-target as sent), Proto and Host are the
	// request line and Host header.
	Method, Target, Proto, Host string
	Header                      http.Header
	// Body is the start of the body (at most 4 KiB); BodyLen counts all of it.
	Body    []byte
	BodyLen int64
	// Complete is false when the body ended early (the proxy closed the
	// connection or sent broken framing): a half-forwarded request.
	Complete bool
	// BodyErr says why the body did not complete.
	BodyErr string
	// Conn numbers the origin's connections from 1.
	Conn int
}

// What the origin does for a request is chosen by the query parameter
// "do" of its target; without one it answers 200 with a short body.
const (
	// DoCLTE answers with both Content-Length and Transfer-Encoding and a
	// second response hidden behind the chunked terminator (splitting).
	DoCLTE = "cl-te"
	// DoBadTE answers with a transfer coding other than chunked.
	DoBadTE = "bad-te"
	// DoTruncate promises 1000 bytes, sends 10 and closes.
	DoTruncate = "truncate"
	// DoSleep waits for the duration in "for" before answering.
	DoSleep = "sleep"
	// DoReject answers 417 without reading the body (Expect: 100-continue).
	DoReject = "417"
	// DoWebSocket accepts a WebSocket upgrade and echoes bytes.
	DoWebSocket = "ws"
	// DoBig answers with BigBody bytes, more than a proxy and a client that
	// does not read can hold in their socket buffers.
	DoBig = "big"
)

// BigBody is the size of a DoBig response.
const BigBody = 32 << 20

// OriginHeader marks every response the origin writes.
const OriginHeader = "X-Conformance-Origin"

const (
	keepBody   = 4 << 10
	originIdle = 30 * time.Second
)

// Origin is a recording HTTP/1.1 server on loopback: it parses each request
// with net/http's own reader, records it, and answers as the case asks,
// including in ways a well-behaved server never would.
type Origin struct {
	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	got   []Received
	conns map[net.Conn]struct{}
	seq   int
	once  sync.Once
}

// NewOrigin listens on addr (host:port; "" means 127.0.0.1:0) and serves
// until Close.
func NewOrigin(addr string) (*Origin, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("origin: listen on %q: %w", addr, err)
	}
	o := &Origin{ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	o.wg.Add(1)
	go o.accept()
	return o, nil
}

// Addr is the origin's host:port.
func (o *Origin) Addr() string { return o.ln.Addr().String() }

// Received returns the requests recorded for one case, in arrival order.
func (o *Origin) Received(caseID string) []Received {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Received
	for _, r := range o.got {
		if r.Case == caseID {
			out = append(out, r)
		}
	}
	return out
}

// All returns every recorded request.
func (o *Origin) All() []Received {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Received(nil), o.got...)
}

// Close stops the origin and closes its connections; it is idempotent.
func (o *Origin) Close() error {
	var err error
	o.once.Do(func() {
		close(o.done)
		err = o.ln.Close()
		o.mu.Lock()
		for c := range o.conns {
			c.Close()
		}
		o.mu.Unlock()
		o.wg.Wait()
	})
	return err
}

func (o *Origin) accept() {
	defer o.wg.Done()
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		select {
		case <-o.done:
			o.mu.Unlock()
			c.Close()
			return
		default:
		}
		o.seq++
		n := o.seq
		o.conns[c] = struct{}{}
		o.wg.Add(1)
		o.mu.Unlock()
		go o.serve(c, n)
	}
}

func (o *Origin) serve(c net.Conn, n int) {
	defer o.wg.Done()
	defer func() {
		c.Close()
		o.mu.Lock()
		delete(o.conns, c)
		o.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(originIdle))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		rec := Received{
			Case: caseOf(req.URL.Path), Method: req.Method, Target: req.RequestURI, Proto: req.Proto,
			Host: req.Host, Header: req.Header, Conn: n, Complete: true,
		}
		do := req.URL.Query().Get("do")
		if do != DoReject {
			rec.readBody(req.Body)
		}
		o.mu.Lock()
		o.got = append(o.got, rec)
		o.mu.Unlock()
		if !rec.Complete {
			return
		}
		if !o.answer(c, br, req, do) || req.Close {
			return
		}
	}
}

func (r *Received) readBody(body io.Reader) {
	var keep bytes.Buffer
	n, err := io.Copy(&keep, io.LimitReader(body, keepBody))
	r.BodyLen = n
	if err == nil && n == keepBody {
		var rest int64
		rest, err = io.Copy(io.Discard, body)
		r.BodyLen += rest
	}
	r.Body = keep.Bytes()
	if err != nil {
		r.Complete = false
		r.BodyErr = err.Error()
	}
}

// answer writes the response the case asked for; false means close now.
func (o *Origin) answer(c net.Conn, br *bufio.Reader, req *http.Request, do string) bool {
	const mark = OriginHeader + ": 1\r\n"
	switch do {
	case DoCLTE:
		io.WriteString(c, "HTTP/1.1 200 OK\r\n"+mark+"Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"0\r\n\r\nHTTP/1.1 200 OK\r\nX-Split: 1\r\nContent-Length: 0\r\n\r\n")
		return false
	case DoBadTE:
		io.WriteString(c, "HTTP/1.1 200 OK\r\n"+mark+"Transfer-Encoding: gzip\r\n\r\nnot gzip at all")
		return false
	case DoTruncate:
		io.WriteString(c, "HTTP/1.1 200 OK\r\n"+mark+"Content-Length: 1000\r\n\r\n0123456789")
		return false
	case DoSleep:
		d, _ := time.ParseDuration(req.URL.Query().Get("for"))
		select {
		case <-time.After(min(d, originIdle)):
		case <-o.done:
			return false
		}
	case DoBig:
		c.SetWriteDeadline(time.Now().Add(originIdle))
		_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"+mark+"Content-Type: application/octet-stream\r\n"+
			"Content-Length: "+strconv.Itoa(BigBody)+"\r\n\r\n")
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for sent := 0; sent < BigBody && err == nil; sent += len(chunk) {
			_, err = c.Write(chunk)
		}
		return err == nil
	case DoReject:
		io.WriteString(c, "HTTP/1.1 417 Expectation Failed\r\n"+mark+"Content-Length: 0\r\n\r\n")
		return true
	case DoWebSocket:
		if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
			break
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\n%sUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: %s\r\n\r\n", mark, wsAccept(req.Header.Get("Sec-WebSocket-Key")))
		c.SetReadDeadline(time.Now().Add(originIdle))
		io.Copy(c, br) // echo until either side closes
		return false
	}
	body := "origin saw " + req.Method + " " + req.RequestURI + "\n"
	_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"+mark+"Content-Type: text/plain\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
	return err == nil
}

// caseOf returns <id> from a path /c/<id>[/…].
func caseOf(path string) string {
	rest, ok := strings.CutPrefix(path, "/c/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Canary is a loopback listener that a proxy must never connect to: it
// counts the connections it accepts and closes them at once.
type Canary struct {
	ln    net.Listener
	mu    sync.Mutex
	dials int
	wg    sync.WaitGroup
	once  sync.Once
}

// NewCanary listens on addr ("" means 127.0.0.1:0).
func NewCanary(addr string) (*Canary, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("canary: listen on %q: %w", addr, err)
	}
	k := &Canary{ln: ln}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			k.mu.Lock()
			k.dials++
			k.mu.Unlock()
			c.Close()
		}
	}()
	return k, nil
}

// Addr is the canary's host:port.
func (k *Canary) Addr() string { return k.ln.Addr().String() }

// Port is the canary's port.
func (k *Canary) Port() string {
	_, p, _ := net.SplitHostPort(k.Addr())
	return p
}

// Dials is the number of connections accepted so far.
func (k *Canary) Dials() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dials
}

// Close stops the canary; it is idempotent.
func (k *Canary) Close() error {
	var err error
	k.once.Do(func() {
		err = k.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		k.wg.Wait()
	})
	return err
}
