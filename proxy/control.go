package proxy

import "errors"

// Errors of the runtime control methods; the admin API maps them to 404 and
// 409.
var (
	// ErrNotFound means the named pool or server does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a server of that name is already in the pool.
	ErrExists = errors.New("already exists")
)

// UpstreamSpec describes one server of a pool, as configured or added at run
// time.
type UpstreamSpec struct {
	// Name identifies the server; unique within its pool. Required.
	Name string `yaml:"name" json:"name"`
	// URL is http://host:port, https://host:port or h2c://host:port
	// (cleartext HTTP/2 with prior knowledge). Required.
	URL string `yaml:"url" json:"url"`
	// Weight is the relative share for weighted policies; 0 means 1.
	Weight int `yaml:"weight" json:"weight"`
}

// ServerStatus is the live state of one upstream server.
type ServerStatus struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Weight   int    `json:"weight"`
	State    string `json:"state"` // "healthy", "unhealthy", "ejected" or "draining"
	Healthy  bool   `json:"healthy"`
	Draining bool   `json:"draining"`
	Ejected  bool   `json:"ejected"`
	InFlight int64  `json:"in_flight"`
	Requests uint64 `json:"requests"` // attempts sent to it since it joined
	Errors   uint64 `json:"errors"`   // failed attempts (dial, timeout, 5xx)
}

// PoolStatus is the live state of one pool.
type PoolStatus struct {
	Name    string         `json:"name"`
	Policy  string         `json:"policy"`
	Servers []ServerStatus `json:"servers"`
}
