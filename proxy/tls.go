package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"
)

// TLS on the own loop. ServeTLS accepts with the engine as Serve does; each
// connection's handshake runs on its own goroutine under the header
// deadline, then ALPN decides: "h2" is handed to net/http's HTTP/2 server
// (as prior-knowledge h2c is), anything else (http/1.1, or no ALPN) is
// served by the own loop with the same framing checks, limits and parked
// waits as a plain connection, and r.TLS set.

// defaultHandshakeTimeout bounds a TLS handshake when ReadHeaderTimeout is
// off.
const defaultHandshakeTimeout = 10 * time.Second

// serveOwnTLS serves ln with TLS on the own loop.
func (s *Server) serveOwnTLS(ln net.Listener, certFile, keyFile string) error {
	cfg, err := s.ownTLSConfig(certFile, keyFile)
	if err != nil {
		ln.Close()
		return err
	}
	if slices.Contains(cfg.NextProtos, "h2") {
		s.h2tlsOnce.Do(func() {
			// net/http sets up its HTTP/2 server in Serve when its
			// TLSConfig lists "h2" (or is nil): it gets the one this
			// listener negotiates with.
			s.srv.TLSConfig = cfg
			s.eng.h2tls = newHandoffListener(ln.Addr())
			s.h2tlsDone = make(chan struct{})
			go func() {
				defer close(s.h2tlsDone)
				s.srv.Serve(s.eng.h2tls)
			}()
		})
	}
	return s.serveOwn(tlsListener{Listener: ln, cfg: cfg})
}

// ownTLSConfig is the http.Server's TLSConfig (or an empty one) with the
// certificate files added and ALPN offering h2 (unless HTTP/2 is turned
// off, as net/http: TLSNextProto set without "h2", or Protocols without
// HTTP2) and http/1.1.
func (s *Server) ownTLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{}
	if s.srv.TLSConfig != nil {
		cfg = s.srv.TLSConfig.Clone()
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		cfg.Certificates = append(slices.Clip(cfg.Certificates), cert)
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
		return nil, errors.New("tls: no certificate: give certFile and keyFile, or set HTTPServer().TLSConfig")
	}
	_, hasH2 := s.srv.TLSNextProto["h2"]
	h2 := (s.srv.TLSNextProto == nil || hasH2) && (s.srv.Protocols == nil || s.srv.Protocols.HTTP2())
	protos := slices.DeleteFunc(slices.Clone(cfg.NextProtos), func(p string) bool { return p == "h2" || p == "http/1.1" })
	if h2 {
		protos = append([]string{"h2"}, protos...)
	}
	cfg.NextProtos = append(protos, "http/1.1")
	return cfg, nil
}

// tlsListener hands out server-side TLS connections; their handshakes run
// later, on the connection's goroutine.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tls.Server(c, l.cfg), nil
}

// handshake completes c's TLS handshake under the header deadline and
// reports whether the own loop serves it: false when it failed (c closed)
// or when it negotiated h2 (c handed to net/http).
func (c *conn) handshake(tc *tls.Conn) bool {
	d := c.cfg.ReadHeaderTimeout
	if d <= 0 {
		d = defaultHandshakeTimeout
	}
	// The deadline bounds it; Shutdown and Close end it by closing the
	// connection, which counts as idle until its first request.
	tc.SetDeadline(time.Now().Add(d))
	if err := tc.Handshake(); err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && tlsRecordHeaderLooksLikeHTTP(re.RecordHeader) {
			// As net/http: a plain HTTP request on the TLS port.
			re.Conn.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
			re.Conn.Close()
		} else {
			c.e.s.logf("http: TLS handshake error from %s: %v", c.remote, err)
		}
		c.close()
		return false
	}
	tc.SetDeadline(time.Time{})
	c.rdl, c.rdlKnown = time.Time{}, true
	st := tc.ConnectionState()
	if st.NegotiatedProtocol == "h2" && c.e.h2tls != nil {
		c.giveAway()
		if !c.e.h2tls.handoff(tc) {
			tc.Close()
		}
		return false
	}
	c.tls = &st
	return true
}

// tlsRecordHeaderLooksLikeHTTP reports whether a TLS record header looks
// like the start of an HTTP request.
func tlsRecordHeaderLooksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}
