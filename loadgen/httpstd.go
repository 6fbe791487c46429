package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// setupStd prepares the net/http path used for h2c (through
// golang.org/x/net/http2) and https.
func (d *HTTPDoer) setupStd(proxy *url.URL) error {
	var rt http.RoundTripper
	if d.cfg.H2C {
		if d.target.Scheme != "http" {
			return fmt.Errorf("http doer: h2c needs an http:// url, got %q", d.cfg.URL)
		}
		if proxy != nil {
			return fmt.Errorf("http doer: h2c through a forward proxy is not supported")
		}
		rt = &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return d.dial(ctx, network, addr)
			},
		}
	} else {
		t := &http.Transport{
			DialContext:         d.dial,
			MaxIdleConnsPerHost: 10000,
			MaxConnsPerHost:     d.cfg.MaxConns,
			DisableKeepAlives:   d.cfg.NoKeepAlive,
			ForceAttemptHTTP2:   true,
		}
		if proxy != nil {
			t.Proxy = http.ProxyURL(proxy)
		}
		rt = t
	}
	d.std = &http.Client{
		Transport:     rt,
		Timeout:       d.cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	d.stdRequest = func(ctx context.Context) (*http.Request, error) {
		var body io.Reader
		if d.cfg.Body != nil {
			body = bytes.NewReader(d.cfg.Body)
		}
		req, err := http.NewRequestWithContext(ctx, d.cfg.Method, d.cfg.URL, body)
		if err != nil {
			return nil, err
		}
		for k, vs := range d.cfg.Header {
			req.Header[k] = vs
		}
		if h := d.cfg.Header.Get("Host"); h != "" {
			req.Host = h
		}
		req.Close = d.cfg.NoKeepAlive
		return req, nil
	}
	return nil
}

// doStd sends one request through net/http.
func (d *HTTPDoer) doStd(ctx context.Context, s Slot) Result {
	start := time.Now()
	res := Result{Start: start, Tags: Tags{Client: d.cfg.Client}}
	req, err := d.stdRequest(ctx)
	if err != nil {
		res.Err = ErrOther
		return res
	}
	if d.idPrefix != nil {
		k, v, _ := strings.Cut(string(d.idPrefix), ": ")
		req.Header.Set(k, v+strconv.FormatUint(s.Seq, 10))
	}
	resp, err := d.std.Do(req)
	if err != nil {
		res.Err = classify(ctx, err)
		res.Raw = time.Since(start)
		return res
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	res.Status, res.Bytes = resp.StatusCode, n
	if d.serverHdr != "" {
		res.Tags.Server = resp.Header.Get(d.serverHdr)
	}
	if err != nil {
		res.Status = 0
		res.Err = classify(ctx, err)
	}
	res.Raw = time.Since(start)
	return res
}
