package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Echo is the JSON body of /echo: the request exactly as the server saw it.
type Echo struct {
	Server string `json:"server"`
	ID     string `json:"id"` // X-Proxylab-Id
	Method string `json:"method"`
	Target string `json:"target"` // request-target as sent: path?query, or absolute-form
	Proto  string `json:"proto"`
	Host   string `json:"host"`
	// Headers lists every header line, Host included, in the order received
	// and with the name spelled as sent, when HeaderOrder is "received"
	// (HTTP/1.x). HTTP/2 carries headers compressed and net/http does not
	// keep their order, so there HeaderOrder is "sorted": names canonical,
	// sorted, Host first (from :authority).
	Headers     []HeaderField `json:"headers"`
	HeaderOrder string        `json:"header_order"`
	BodyBytes   int64         `json:"body_bytes"`
	BodySHA256  string        `json:"body_sha256"` // hex
	Peer        string        `json:"peer"`        // remote host:port
	Local       string        `json:"local"`       // host:port the request arrived on
}

// HeaderField is one header line.
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Values returns every value of the header name (case-insensitive), in order.
func (e Echo) Values(name string) []string {
	var out []string
	for _, f := range e.Headers {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Get returns the first value of the header name (case-insensitive), or "".
func (e Echo) Get(name string) string {
	if v := e.Values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Names returns the header names in order.
func (e Echo) Names() []string {
	out := make([]string, len(e.Headers))
	for i, f := range e.Headers {
		out[i] = f.Name
	}
	return out
}

// Header order strings of Echo.HeaderOrder.
const (
	OrderReceived = "received"
	OrderSorted   = "sorted"
)

// buildEcho reads the request body and describes r.
func buildEcho(name string, r *http.Request) ([]byte, error) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		return nil, err
	}
	e := Echo{
		Server:     name,
		ID:         r.Header.Get(IDHeader),
		Method:     r.Method,
		Target:     r.RequestURI,
		Proto:      r.Proto,
		Host:       r.Host,
		BodyBytes:  n,
		BodySHA256: hex.EncodeToString(h.Sum(nil)),
		Peer:       r.RemoteAddr,
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(interface{ String() string }); ok {
		e.Local = la.String()
	}
	if c := connFrom(r.Context()); c != nil && r.ProtoMajor == 1 {
		if fields, ok := c.rec.takeHead(r.Method, r.RequestURI); ok {
			e.Headers, e.HeaderOrder = fields, OrderReceived
		}
	}
	if e.HeaderOrder == "" {
		e.Headers, e.HeaderOrder = sortedFields(r), OrderSorted
	}
	return json.MarshalIndent(e, "", "  ")
}

func sortedFields(r *http.Request) []HeaderField {
	out := []HeaderField{{Name: "Host", Value: r.Host}}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range r.Header[k] {
			out = append(out, HeaderField{Name: k, Value: v})
		}
	}
	return out
}

// recorder keeps the bytes recently read from one connection, so that the
// echo endpoint can read the header block as it arrived. It keeps at most
// recorderCap bytes and turns itself off for HTTP/2 prior-knowledge
// connections and after a hijack.
type recorder struct {
	mu  sync.Mutex
	buf []byte
	off bool
}

const recorderCap = 64 << 10

var h2Preface = []byte("PRI * HTTP/2.0\r\n")

func (r *recorder) write(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off {
		return
	}
	if len(r.buf) == 0 && bytes.HasPrefix(p, h2Preface) {
		r.off = true
		return
	}
	r.buf = append(r.buf, p...)
	if len(r.buf) > recorderCap {
		keep := r.buf[len(r.buf)-recorderCap/2:]
		r.buf = append(r.buf[:0], keep...)
	}
}

func (r *recorder) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off, r.buf = true, nil
}

// takeHead finds the header block of the request "METHOD TARGET …", parses
// its fields in order, and forgets every byte up to its end.
func (r *recorder) takeHead(method, target string) ([]HeaderField, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := []byte(method + " " + target + " ")
	start := bytes.Index(r.buf, line)
	if start < 0 {
		return nil, false
	}
	rest := r.buf[start:]
	end := bytes.Index(rest, []byte("\r\n\r\n"))
	sep := 4
	if e2 := bytes.Index(rest, []byte("\n\n")); e2 >= 0 && (end < 0 || e2 < end) {
		end, sep = e2, 2
	}
	if end < 0 {
		return nil, false
	}
	head := string(rest[:end])
	r.buf = append(r.buf[:0], rest[end+sep:]...)
	lines := strings.Split(strings.ReplaceAll(head, "\r\n", "\n"), "\n")[1:]
	fields := make([]HeaderField, 0, len(lines))
	for _, l := range lines {
		if l != "" && (l[0] == ' ' || l[0] == '\t') && len(fields) > 0 { // obsolete folding
			fields[len(fields)-1].Value += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		fields = append(fields, HeaderField{Name: name, Value: strings.TrimSpace(value)})
	}
	return fields, true
}
