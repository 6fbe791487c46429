package balance

import "time"

// slowStartFloor is the share of its weight a server gets the moment it
// becomes available; it grows linearly to 1 over the slow-start window.
const slowStartFloor = 0.1

// slowStart computes the effective-weight factor of servers that became
// available recently. The zero value (window 0) is off and costs nothing.
//
// How each policy applies the factor f in [0.1, 1]:
//   - weighted_round_robin scales the server's weight by f;
//   - consistent_hash keeps a key on a ramping server only when a hash of
//     (key, server) falls below f, so the same keys arrive first and more
//     keys follow as f grows;
//   - round_robin, least_conn, p2c, random, first and the sticky_cookie
//     fallback pass a ramping server over with probability 1-f (they take
//     the next candidate their own rule gives). If every candidate is passed
//     over, the policy ignores slow start for that pick.
//   - a valid sticky cookie always wins: a pinned session is not moved.
type slowStart struct {
	window time.Duration
}

// now returns the time to compare against, or the zero time when slow start
// is off, so policies avoid the clock read when it does not matter.
func (s slowStart) now() time.Time {
	if s.window <= 0 {
		return time.Time{}
	}
	return time.Now()
}

// factor returns the weight factor of u at now: 1 when slow start is off or
// over, from 0.1 up to 1 during the window.
func (s slowStart) factor(u *Upstream, now time.Time) float64 {
	if s.window <= 0 {
		return 1
	}
	up := now.Sub(u.UpSince())
	if up >= s.window {
		return 1
	}
	if up <= 0 {
		return slowStartFloor
	}
	return slowStartFloor + (1-slowStartFloor)*float64(up)/float64(s.window)
}

// admit reports whether u may take this pick under slow start: always when it
// is not ramping, with probability factor otherwise.
func (s slowStart) admit(u *Upstream, now time.Time, rng *lockedRand) bool {
	if s.window <= 0 {
		return true
	}
	f := s.factor(u, now)
	return f >= 1 || rng.Float64() < f
}
