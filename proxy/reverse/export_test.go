package reverse

import "net/http"

// TakesDirectPath reports whether ServeHTTP would send r on the direct path
// (serveFast) rather than through httputil.ReverseProxy.
func TakesDirectPath(p *Proxy, r *http.Request) bool {
	st := p.state.Load()
	pl := st.router.match(r)
	if pl == nil {
		return false
	}
	rs := getReqState(st, pl)
	defer putReqState(rs)
	if err := rs.body.prepare(r, int64(st.cfg.Limits.ReplayBytes)); err != nil {
		return false
	}
	return p.fastOK(pl, r, rs)
}
