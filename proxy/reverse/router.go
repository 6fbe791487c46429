package reverse

import (
	"net"
	"net/http"
	"sort"
	"strings"
)

// router maps host and path prefix to a pool. Exact hosts are tried before
// the catch-all host ""; within a host the longest prefix wins.
type router struct {
	hosts map[string][]route // lower-case host without port → routes, longest path first
	any   []route            // host "" routes, longest path first
}

type route struct {
	path string
	pool *pool
}

func newRouter(cfg []RouteConfig, pools map[string]*pool) router {
	rt := router{hosts: make(map[string][]route)}
	for _, rc := range cfg {
		r := route{path: rc.Path, pool: pools[rc.Pool]}
		if r.path == "" {
			r.path = "/"
		}
		if rc.Host == "" {
			rt.any = append(rt.any, r)
			continue
		}
		h := strings.ToLower(rc.Host)
		rt.hosts[h] = append(rt.hosts[h], r)
	}
	byLength := func(rs []route) {
		sort.SliceStable(rs, func(i, j int) bool { return len(rs[i].path) > len(rs[j].path) })
	}
	byLength(rt.any)
	for _, rs := range rt.hosts {
		byLength(rs)
	}
	return rt
}

// match returns the pool for r, or nil. hostKnown reports whether some route
// names r's host, to tell 421 from 404 on TLS mismatches.
func (rt *router) match(r *http.Request) *pool {
	host := requestHost(r)
	if rs, ok := rt.hosts[host]; ok {
		if p := matchPath(rs, r.URL.Path); p != nil {
			return p
		}
	}
	return matchPath(rt.any, r.URL.Path)
}

func matchPath(rs []route, path string) *pool {
	for _, r := range rs {
		if prefixMatch(r.path, path) {
			return r.pool
		}
	}
	return nil
}

// prefixMatch reports whether path lies under prefix on a segment boundary:
// "/api" matches "/api" and "/api/x" but not "/apix"; "/api/" and "/" are
// plain prefixes.
func prefixMatch(prefix, path string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	if len(path) == len(prefix) || strings.HasSuffix(prefix, "/") {
		return true
	}
	return path[len(prefix)] == '/'
}

// requestHost returns r's host, lower case, without port or trailing dot.
func requestHost(r *http.Request) string {
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
