package server

import (
	"io"
	"log"
	"net/http"
	"time"
)

// Defaults applied by New to zero Config fields and options.
const (
	DefaultName         = "server"
	DefaultAddr         = "127.0.0.1:0"
	DefaultReceiptLimit = 10000
)

// Config describes one simulated server.
type Config struct {
	// Name goes in every response's X-Sim-Server header and every Receipt;
	// empty means DefaultName.
	Name string `yaml:"name" json:"name"`
	// Addr is the host:port to listen on; empty means DefaultAddr. Use port 0
	// and read Addr() after Start; Recover listens again on the port first bound.
	Addr string `yaml:"addr" json:"addr"`
	// Behaviour is what the server does with each request; the zero value
	// answers 200 at once with no body.
	Behaviour Behaviour `yaml:"behaviour" json:"behaviour"`
	// Seed derives every random decision; zero is a seed like any other.
	Seed uint64 `yaml:"seed" json:"seed"`
	// TLS serves HTTPS (HTTP/1.1) with a throwaway self-signed certificate
	// instead of cleartext HTTP/1.1 and h2c. False serves cleartext.
	TLS bool `yaml:"tls" json:"tls"`
	// OnRequest, when not nil, is called for every request received, before
	// the behaviour runs, on the request's goroutine: keep it quick.
	OnRequest func(Receipt) `yaml:"-" json:"-"`
}

// Receipt records one request as the server received it.
type Receipt struct {
	Server    string      `json:"server"`
	ID        string      `json:"id"` // X-Proxylab-Id; empty when the request had none
	At        time.Time   `json:"at"` // when the handler started
	Method    string      `json:"method"`
	Target    string      `json:"target"` // the request-target as sent (RequestURI)
	Proto     string      `json:"proto"`
	Host      string      `json:"host"` // the Host header (or :authority) as received
	Header    http.Header `json:"header"`
	Peer      string      `json:"peer"`       // remote host:port
	BodyBytes int64       `json:"body_bytes"` // Content-Length; -1 when unknown (chunked)
}

// Stats counts what the server did since New; crashes do not reset it.
type Stats struct {
	Received int64         `json:"received"`  // requests received (every path)
	Total    int64         `json:"total"`     // responses whose status line was sent
	ByStatus map[int]int64 `json:"by_status"` // responses per status code
	InFlight int64         `json:"in_flight"` // requests being handled now
	Stalled  int64         `json:"stalled"`   // requests held without an answer
	Reset    int64         `json:"reset"`     // connections reset mid-response
	Closed   int64         `json:"closed"`    // connections closed after the response by the close knob
}

// IDHeader carries a simulated request's identity end to end.
const IDHeader = "X-Proxylab-Id"

// ServerHeader names the server on every response.
const ServerHeader = "X-Sim-Server"

// DelayHeader tells, on a delayed response, the delay the latency knob drew
// for it (a Go duration such as "10.2ms"), so clients can tell the server's
// share of a latency from the network's.
const DelayHeader = "X-Sim-Delay"

// Option tunes a Server beyond its Config.
type Option func(*options)

type options struct {
	receiptLimit int
	errorLog     *log.Logger
}

// WithReceiptLimit keeps the last n receipts for Receipts (default
// DefaultReceiptLimit); 0 or less keeps none.
func WithReceiptLimit(n int) Option { return func(o *options) { o.receiptLimit = n } }

// WithErrorLog sends net/http's connection errors to l; by default they are
// discarded, since a fault-injecting server provokes them on purpose.
func WithErrorLog(l *log.Logger) Option { return func(o *options) { o.errorLog = l } }

// normalize applies every default in one place.
func (c Config) normalize() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	c.Behaviour = c.Behaviour.Clone()
	return c
}

func buildOptions(opts []Option) options {
	o := options{receiptLimit: DefaultReceiptLimit, errorLog: log.New(io.Discard, "", 0)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
