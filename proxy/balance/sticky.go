package balance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"sync"
)

// StickyCookie pins a client to a server with a cookie. The cookie holds an
// HMAC of the server's name (never the name itself), so clients can neither
// read the topology nor forge a pin to a server of their choice. When the
// cookie is missing, unreadable or names a server that is not a candidate now
// (down, draining, ejected, removed), the pick falls back to round robin and
// Chosen sets a new cookie.
type StickyCookie struct {
	cookie   string
	key      []byte
	fallback *RoundRobin

	mu    sync.RWMutex
	macs  map[string]string // server name → cookie value
	names map[string]string // cookie value → server name
}

// NewStickyCookie returns the sticky_cookie policy.
func NewStickyCookie(cfg Config) (*StickyCookie, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	key := []byte(cfg.Secret)
	if len(key) == 0 {
		key = binary.BigEndian.AppendUint64([]byte("proxylab-sticky:"), cfg.Seed)
	}
	return &StickyCookie{cookie: cfg.Cookie, key: key, fallback: NewRoundRobin(cfg),
		macs: make(map[string]string), names: make(map[string]string)}, nil
}

// Pick returns the server the cookie names when it is a candidate, else the
// round-robin choice.
func (p *StickyCookie) Pick(r *http.Request, candidates []*Upstream) *Upstream {
	if len(candidates) == 0 {
		return nil
	}
	if r != nil {
		if c, err := r.Cookie(p.cookie); err == nil && c.Value != "" {
			if name, ok := p.name(c.Value, candidates); ok {
				for _, u := range candidates {
					if u.Name == name {
						return u
					}
				}
			}
		}
	}
	return p.fallback.Pick(r, candidates)
}

// Chosen sets the cookie when the request did not already carry the one for
// u. The cookie is HttpOnly, SameSite=Lax, path /, and Secure over TLS.
func (p *StickyCookie) Chosen(w http.ResponseWriter, r *http.Request, u *Upstream) {
	if u == nil {
		return
	}
	v := p.value(u.Name)
	if r != nil {
		if c, err := r.Cookie(p.cookie); err == nil && c.Value == v {
			return
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     p.cookie,
		Value:    v,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   r != nil && r.TLS != nil,
	})
}

// CookieValue returns the cookie value that pins a client to the server
// named name (for tests and tools that build requests by hand).
func (p *StickyCookie) CookieValue(name string) string { return p.value(name) }

// name returns the server name a cookie value pins to, among the names seen
// so far and those of candidates.
func (p *StickyCookie) name(value string, candidates []*Upstream) (string, bool) {
	p.mu.RLock()
	name, ok := p.names[value]
	p.mu.RUnlock()
	if ok {
		return name, true
	}
	for _, u := range candidates { // a server not seen yet: sign the candidates
		if p.value(u.Name) == value {
			return u.Name, true
		}
	}
	return "", false
}

// value returns the cached HMAC of name, hex, 128 bits.
func (p *StickyCookie) value(name string) string {
	p.mu.RLock()
	v, ok := p.macs[name]
	p.mu.RUnlock()
	if ok {
		return v
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(name))
	v = hex.EncodeToString(m.Sum(nil)[:16])
	p.mu.Lock()
	if len(p.macs) > 4096 { // names come from configuration; bound it anyway
		clear(p.macs)
		clear(p.names)
	}
	p.macs[name] = v
	p.names[v] = name
	p.mu.Unlock()
	return v
}

var (
	_ Balancer  = (*StickyCookie)(nil)
	_ Responder = (*StickyCookie)(nil)
)
