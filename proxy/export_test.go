package proxy

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
)

// PoolBalance returns how many pooled buffers the connections s serves with
// its own loop hold now.
func PoolBalance(s *Server) int64 { return s.eng.held.Load() }

// ParseHead runs the own request-head parser on block and, when it takes
// the block, compares its request with net/http.ReadRequest's: diff names
// the first field that differs.
func ParseHead(block []byte) (taken bool, diff string, err error) {
	var got http.Request
	hasBody, ok := parseHead(block, &got)
	if !ok {
		return false, "", nil
	}
	want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(block)))
	if err != nil {
		return true, "", err
	}
	return true, sameRequest(&got, want, hasBody), nil
}

// NewRequestContext returns the context the own loop gives a request whose
// connection's context is parent, and the cancellation the loop applies when
// the handler returns.
func NewRequestContext(parent context.Context) (context.Context, func()) {
	c := &requestContext{parent: parent}
	return c, func() { c.cancel(context.Canceled) }
}
