package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Mode is the kind of proxy a case probes.
type Mode string

// The two drawings: a reverse proxy routes by Host to the origin it owns; a
// forward proxy is asked for the origin in absolute-form or with CONNECT.
const (
	Reverse Mode = "reverse"
	Forward Mode = "forward"
)

// ParseMode accepts "reverse" or "forward".
func ParseMode(s string) (Mode, error) {
	switch Mode(strings.ToLower(strings.TrimSpace(s))) {
	case Reverse:
		return Reverse, nil
	case Forward:
		return Forward, nil
	}
	return "", fmt.Errorf("mode %q: want reverse or forward", s)
}

// Case is one entry of the catalogue: what is sent, and what a proxy must do
// with it. Most cases are a raw request template; the few that need more
// steps (a WebSocket, a slow client, a second request) carry a Probe.
type Case struct {
	// ID is unique in the catalogue: the number of the case in
	// docs/SECURITY.md, with a suffix for variants ("3", "3b").
	ID string
	// Title says in a few words what is sent.
	Title string
	// Why says what goes wrong when a proxy gets it wrong.
	Why string
	// Modes lists the kinds of proxy the case applies to.
	Modes []Mode
	// NotApplicable gives, per mode, why the case is not probed there
	// (another test covers it, or the runner cannot reach it from outside).
	NotApplicable map[Mode]string
	// Request is the raw bytes sent on a fresh connection, with
	// placeholders filled by the runner: {target} (origin-form /c/<id> for
	// a reverse proxy, absolute-form for a forward one), {abs} (always
	// absolute-form), {path} (/c/<id>), {host} (the Host to send), {auth}
	// (a Proxy-Authorization line or nothing), {anyauth} (that line, or one
	// with made-up credentials), {origin} (the origin's authority as the
	// proxy is asked for it), {originip} (the IP the origin listens on),
	// {tunnel} (Config.TunnelAuthority) and {cport} (the canary's port).
	// Lines end in \r\n as written.
	Request string
	// Probe replaces Request for cases with more than one step.
	Probe func(ctx context.Context, s *Session) (*Observation, error)
	// Needs names what the runner's Config must provide for the case to run
	// (see Config.has); a case whose needs are missing is not applicable,
	// with the reason saying which.
	Needs []Need
	// Expect is what a conforming proxy does.
	Expect Expect
}

// Need is something a case needs to know about the proxy under test.
type Need string

// Needs a case may have.
const (
	NeedAuth           Need = "credentials (the proxy must require them)"
	NeedCanary         Need = "a canary listener on loopback"
	NeedTunnel         Need = "a CONNECT authority the proxy must allow"
	NeedHeaderTimeout  Need = "the proxy's upstream response-header timeout"
	NeedClientTimeouts Need = "the proxy's client header and body timeouts"
	NeedBodyLimit      Need = "the proxy's request body limit"
	NeedH2C            Need = "that the proxy serves cleartext HTTP/2 (prior knowledge)"
	NeedWriteTimeout   Need = "the proxy's write idle deadline"
)

// Expect is what a conforming proxy does with a case. Zero fields check
// nothing.
type Expect struct {
	// Status lists the acceptable status codes of the first response; 0 in
	// the list accepts no response at all (the connection was closed).
	Status []int
	// Close requires the proxy to close the connection after answering.
	Close bool
	// Forwarded bounds how many of the case's requests reach the origin.
	Forwarded Count
	// Whole requires every request that reached the origin to be complete
	// (its whole body arrived): nothing half-forwarded.
	Whole bool
	// NoDial requires that the canary saw no connection.
	NoDial bool
	// Check looks at the whole observation for what the fields above cannot
	// say; it returns one message per problem.
	Check func(o *Observation) []string
}

// Count bounds a number of requests; the zero value checks nothing.
type Count struct {
	set      bool
	min, max int
}

// AnyCount checks nothing.
var AnyCount = Count{}

// None is zero requests.
func None() Count { return Count{set: true, min: 0, max: 0} }

// AtMost is between 0 and n requests.
func AtMost(n int) Count { return Count{set: true, min: 0, max: n} }

// Exactly is n requests.
func Exactly(n int) Count { return Count{set: true, min: n, max: n} }

// ok reports whether n is within the bound.
func (c Count) ok(n int) bool { return !c.set || (n >= c.min && n <= c.max) }

func (c Count) String() string {
	switch {
	case !c.set:
		return "any"
	case c.min == c.max:
		return fmt.Sprint(c.min)
	case c.min == 0:
		return fmt.Sprintf("at most %d", c.max)
	}
	return fmt.Sprintf("%d..%d", c.min, c.max)
}

// AppliesTo reports whether the case is probed for mode and, when not, why.
func (c *Case) AppliesTo(m Mode) (bool, string) {
	if r, ok := c.NotApplicable[m]; ok {
		return false, r
	}
	if !slices.Contains(c.Modes, m) {
		return false, fmt.Sprintf("a %s-proxy case", c.Modes[0])
	}
	return true, ""
}

// Verdict is the outcome of one case against one proxy.
type Verdict string

// Verdicts.
const (
	Pass          Verdict = "pass"
	Fail          Verdict = "FAIL"
	NotApplicable Verdict = "n/a"
	// Broken means the probe itself could not run (the proxy refused the
	// connection, the origin never got the baseline request).
	Broken Verdict = "error"
)

// Result is one case run against one proxy.
type Result struct {
	Case    *Case
	Mode    Mode
	Verdict Verdict
	// Problems lists each broken expectation (Fail), the reason a case does
	// not apply (NotApplicable) or what stopped the probe (Broken).
	Problems []string
	// Obs is what was seen; nil when the case did not run.
	Obs *Observation
}

// Summary is a one-line description of what was observed.
func (r *Result) Summary() string {
	if r.Obs == nil {
		return ""
	}
	return r.Obs.Summary()
}
