package proxy

import (
	"bufio"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// How the own loop writes status lines and header fields.

func writeStatusLine(bw *bufio.Writer, is11 bool, code int) {
	if code >= 100 && code < 600 {
		i := code - 100
		if !is11 {
			i += 500
		}
		statusOnce.Do(buildStatusLines)
		bw.WriteString(statusLines[i])
		return
	}
	proto := "HTTP/1.1 "
	if !is11 {
		proto = "HTTP/1.0 "
	}
	bw.WriteString(proto + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n")
}

// statusLines holds "HTTP/1.x NNN Text\r\n" for codes 100 to 599, HTTP/1.1
// first, so that a response writes its status line without formatting.
var (
	statusOnce  sync.Once
	statusLines [1000]string
)

func buildStatusLines() {
	for code := 100; code < 600; code++ {
		text := http.StatusText(code)
		if text == "" {
			text = "status code " + strconv.Itoa(code)
		}
		statusLines[code-100] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		statusLines[code-100+500] = "HTTP/1.0 " + strconv.Itoa(code) + " " + text + "\r\n"
	}
}

// writeHeaders writes h sorted by key, without the keys exclude names, with
// invalid names dropped and line breaks in values turned into spaces, as
// http.Header.Write.
func writeHeaders(bw *bufio.Writer, h http.Header, exclude func(string) bool) {
	var arr [32]string
	keys := arr[:0]
	for k := range h {
		if !exclude(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range h[k] {
			writeField(bw, k, v)
		}
	}
}

func writeField(bw *bufio.Writer, k, v string) {
	if strings.IndexByte(v, '\r') >= 0 || strings.IndexByte(v, '\n') >= 0 {
		v = strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	}
	v = textproto.TrimString(v)
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// field is h's first value for key, which must be canonical: Header.Get
// without canonicalizing the key again.
func field(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// The Date header, formatted once a second.
type dateLine struct {
	sec int64
	b   []byte
}

var dateCache atomic.Pointer[dateLine]

func httpDate() []byte {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.b
	}
	d := &dateLine{sec: now.Unix(), b: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	dateCache.Store(d)
	return d.b
}
