package conformance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Observation is what one probe saw, from both ends.
type Observation struct {
	// Responses are the final responses read off the client connection, in
	// order (1xx interim responses other than 101 are skipped).
	Responses []Response
	// Closed says the proxy closed the connection within CloseWait of the
	// last response (or without answering).
	Closed bool
	// Received are the case's requests as the origin got them.
	Received []Received
	// Dials counts connections the canary accepted during the case.
	Dials int
	// Notes are what a multi-step probe wants said beside the verdict.
	Notes []string
	// Elapsed is how long the probe took, settling included.
	Elapsed time.Duration
}

// Response is one response as the client saw it.
type Response struct {
	Status int
	Header http.Header
	// Body is the start of the body (at most 4 KiB).
	Body []byte
	// Truncated means the body ended before its framing said it would.
	Truncated bool
}

// FromOrigin reports whether the origin wrote the response.
func (r Response) FromOrigin() bool { return r.Header.Get(OriginHeader) != "" }

// Status is the first response's status, or 0 when none came.
func (o *Observation) Status() int {
	if len(o.Responses) == 0 {
		return 0
	}
	return o.Responses[0].Status
}

// First is the first response, or a zero Response.
func (o *Observation) First() Response {
	if len(o.Responses) == 0 {
		return Response{Header: http.Header{}}
	}
	return o.Responses[0]
}

// Summary says in one line what came back and what reached the origin.
func (o *Observation) Summary() string {
	var parts []string
	for _, r := range o.Responses {
		s := fmt.Sprint(r.Status)
		if r.Truncated {
			s += " (truncated)"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		parts = append(parts, "no response")
	}
	s := strings.Join(parts, ", ")
	if o.Closed {
		s += ", closed"
	} else {
		s += ", open"
	}
	s += fmt.Sprintf("; origin got %d", len(o.Received))
	if o.Dials > 0 {
		s += fmt.Sprintf("; canary dialled %d", o.Dials)
	}
	return s
}

const maxResponses = 4

// Read reads responses from c until the proxy closes it or stays quiet for
// CloseWait after the last one; the first may take up to wait. method is the
// first request's method (responses to HEAD have no body).
func (s *Session) Read(c net.Conn, method string, wait time.Duration) *Observation {
	o := &Observation{}
	br := bufio.NewReader(c)
	deadline := time.Now().Add(wait)
	for len(o.Responses) < maxResponses {
		c.SetReadDeadline(deadline)
		if _, err := br.Peek(1); err != nil {
			o.Closed = !isTimeout(err)
			return o
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			// Bytes that are not a response: record them as a broken one.
			o.Responses = append(o.Responses, Response{Status: -1, Header: http.Header{}})
			o.Closed = true
			return o
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		r := Response{Status: resp.StatusCode, Header: resp.Header}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			o.Responses = append(o.Responses, r)
			return o
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, keepBody))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		r.Body = body
		if err != nil {
			r.Truncated = true
			o.Responses = append(o.Responses, r)
			o.Closed = true
			return o
		}
		o.Responses = append(o.Responses, r)
		if resp.Close {
			// The proxy said it will close: wait for the close itself, as
			// long as for a response (a loaded machine is slow, not wrong).
			c.SetReadDeadline(time.Now().Add(s.cfg.Timeout))
			_, err := br.Peek(1)
			o.Closed = err != nil && !isTimeout(err)
			if err == nil {
				continue
			}
			return o
		}
		deadline = time.Now().Add(s.cfg.CloseWait)
		method = http.MethodGet
	}
	return o
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
