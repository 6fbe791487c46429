package client

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// WebSocket opens a WebSocket to url (ws:// or http:// — the scheme is
// switched as needed), sends messages text messages and reads each echo back,
// then closes it. The outcome's status is the handshake's (101 on success);
// an echo that differs from what was sent is an error.
func (c *Client) WebSocket(ctx context.Context, url string, messages int, id string) Outcome {
	if id == "" {
		id = c.NextID()
	}
	out := Outcome{ID: id, Client: c.cfg.Name, Method: http.MethodGet, URL: url, Start: time.Now()}
	h := http.Header{}
	for k, vs := range c.cfg.Header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set(IDHeader, id)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: h})
	if resp != nil {
		out.Status = resp.StatusCode
		out.Proto = resp.Proto
		out.Server = resp.Header.Get(ServerHeader)
		out.Header = resp.Header
	}
	if err != nil {
		out.Latency = time.Since(out.Start)
		out.ErrKind, out.Err = Classify(err), err.Error()
		if out.ErrKind == ErrOther && out.Status != 0 {
			// The handshake got an answer that was not 101: that is a status, not a transport error.
			out.ErrKind, out.Err = ErrNone, ""
		}
		return out
	}
	defer conn.CloseNow()
	for i := 0; i < messages; i++ {
		msg := []byte(id + " message " + strconv.Itoa(i))
		if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
			return failed(out, err)
		}
		_, echo, err := conn.Read(ctx)
		if err != nil {
			return failed(out, err)
		}
		if !bytes.Equal(echo, msg) {
			return failed(out, fmt.Errorf("websocket echo %q differs from %q", echo, msg))
		}
		out.Bytes += int64(len(echo))
	}
	if err := conn.Close(websocket.StatusNormalClosure, "done"); err != nil {
		return failed(out, err)
	}
	out.Latency = time.Since(out.Start)
	return out
}

func failed(out Outcome, err error) Outcome {
	out.Latency = time.Since(out.Start)
	out.ErrKind, out.Err = Classify(err), err.Error()
	return out
}
