package scenarios

import (
	"time"
)

// LatencyView is a latency distribution in expectations: latency.p99 and so on.
type LatencyView struct {
	Min  time.Duration `expr:"min"`
	Mean time.Duration `expr:"mean"`
	P50  time.Duration `expr:"p50"`
	P90  time.Duration `expr:"p90"`
	P99  time.Duration `expr:"p99"`
	P999 time.Duration `expr:"p999"`
	Max  time.Duration `expr:"max"`
}

// LedgerView is the ledger's counts in expectations: ledger.lost and so on.
type LedgerView struct {
	Sent             int `expr:"sent"`
	Answered         int `expr:"answered"`
	Succeeded        int `expr:"succeeded"`
	Failed           int `expr:"failed"`
	Lost             int `expr:"lost"`
	InFlight         int `expr:"in_flight"`
	Duplicated       int `expr:"duplicated"`
	DuplicatedUnsafe int `expr:"duplicated_unsafe"`
	Retried          int `expr:"retried"`
	Misrouted        int `expr:"misrouted"`
	Unreached        int `expr:"unreached"`
	Orphans          int `expr:"orphans"`
}

// WindowView is what happened to the requests sent within a time window
// (between(2s, 5s), after("crash server2", 1s)), from the ledger.
type WindowView struct {
	Requests    int                   `expr:"requests"`
	Succeeded   int                   `expr:"succeeded"`
	Failed      int                   `expr:"failed"`
	Lost        int                   `expr:"lost"`
	SuccessRate float64               `expr:"success_rate"`
	Latency     LatencyView           `expr:"latency"` // client-measured, from send to last byte
	Status      func(code int) int    `expr:"status"`
	Server      func(name string) int `expr:"server"` // receipts at that server of the window's requests
}

// ServerView is one server in expectations: server("server2").requests.
type ServerView struct {
	// Requests is how many simulated requests the server received.
	Requests int `expr:"requests"`
	// Share is Requests over all servers' receipts.
	Share float64 `expr:"share"`
	// RequestsBetween counts receipts whose arrival is in [from, to).
	RequestsBetween func(from, to time.Duration) int `expr:"requests_between"`
	// Answered counts the responses it sent with a status code.
	Answered func(code int) int `expr:"answered"`
	// SawHeader counts the simulated requests it received carrying a header.
	SawHeader func(name string) int `expr:"saw_header"`
	// Latency is the client-measured latency of the requests it answered.
	Latency LatencyView `expr:"latency"`
}

// ClientView is one client in expectations: client("cli1").success_rate.
type ClientView struct {
	Requests    int         `expr:"requests"`
	Succeeded   int         `expr:"succeeded"`
	Failed      int         `expr:"failed"`
	SuccessRate float64     `expr:"success_rate"`
	Latency     LatencyView `expr:"latency"`
	// Servers is how many different servers answered it.
	Servers int `expr:"servers"`
	// Status counts its responses with a status code.
	Status func(code int) int `expr:"status"`
}

// PhaseView is one load phase in expectations: phase("steady").latency.p99.
type PhaseView struct {
	Requests    int64                 `expr:"requests"`
	SuccessRate float64               `expr:"success_rate"`
	ErrorRate   float64               `expr:"error_rate"`
	RPS         float64               `expr:"rps"`
	AskedRate   float64               `expr:"asked_rate"`
	Missed      uint64                `expr:"missed"`
	Latency     LatencyView           `expr:"latency"`
	RawLatency  LatencyView           `expr:"raw_latency"`
	Errors      func(kind string) int `expr:"errors"`
}

// Env is everything an expectation can read. Latencies of the whole run and
// of phases come from the load generator's HDR histograms (corrected for
// coordinated omission; raw_latency is uncorrected); windows, clients and
// servers come from the ledger.
type Env struct {
	Requests    int64       `expr:"requests"`
	SuccessRate float64     `expr:"success_rate"` // responses below 400 over requests
	ErrorRate   float64     `expr:"error_rate"`
	RPS         float64     `expr:"rps"`
	AskedRate   float64     `expr:"asked_rate"`
	Missed      uint64      `expr:"missed"` // open-loop slots sent late or not at all
	Latency     LatencyView `expr:"latency"`
	RawLatency  LatencyView `expr:"raw_latency"`
	Ledger      LedgerView  `expr:"ledger"`
	// Fairness is Jain's index of the servers' shares against their weights (1 = exactly fair).
	Fairness float64 `expr:"fairness"`

	Status  func(code int) int                      `expr:"status"`
	Errors  func(kind string) int                   `expr:"errors"`
	Server  func(name string) ServerView            `expr:"server"`
	Client  func(name string) ClientView            `expr:"client"`
	Phase   func(name string) PhaseView             `expr:"phase"`
	Between func(from, to time.Duration) WindowView `expr:"between"`
	// After is the window from an event (by label or description) for d.
	After func(event string, d time.Duration) WindowView `expr:"after"`
	// At is an event's offset (by label or description).
	At func(event string) time.Duration `expr:"at"`
	// SawHeader counts the simulated requests any server received carrying a header.
	SawHeader func(name string) int `expr:"saw_header"`
	// SawHeaderValue counts the simulated requests any server received with a
	// header whose value contains substr.
	SawHeaderValue func(name, substr string) int `expr:"saw_header_value"`
	// KeyMoves counts the values of a request header (a hashing key such as a
	// user id) that reached more than one server: a consistent-hash pool moves
	// only the keys of a server that left.
	KeyMoves func(header string) int `expr:"key_moves"`
	// FairnessBetween is Fairness over the receipts in [from, to).
	FairnessBetween func(from, to time.Duration) float64 `expr:"fairness_between"`
}
