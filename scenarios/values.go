package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/proxylab/proxylab/loadgen"
)

// Duration is a duration written as a string such as "250ms" or "1.5s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write one like 250ms, 2s or 1m30s", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// String returns the duration as written by time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Rate is a request rate such as "400/s", a ramp "10/s..200/s", or a Poisson
// arrival process "poisson 100/s".
type Rate struct {
	From, To float64 // requests per second; To == From for a constant rate
	Poisson  bool
	Text     string
}

// UnmarshalText parses a rate.
func (r *Rate) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	out := Rate{Text: s}
	body := s
	if rest, ok := strings.CutPrefix(body, "poisson"); ok {
		out.Poisson = true
		body = strings.TrimSpace(rest)
	}
	from, to, ramp := strings.Cut(body, "..")
	var err error
	if out.From, err = loadgen.ParseRate(strings.TrimSpace(from)); err != nil {
		return rateError(s, err)
	}
	out.To = out.From
	if ramp {
		if out.Poisson {
			return fmt.Errorf("rate %q: a Poisson rate cannot ramp; write poisson 100/s or a ramp 10/s..200/s", s)
		}
		if out.To, err = loadgen.ParseRate(strings.TrimSpace(to)); err != nil {
			return rateError(s, err)
		}
	}
	*r = out
	return nil
}

func rateError(s string, err error) error {
	return fmt.Errorf("rate %q: %v; write 400/s, a ramp 10/s..200/s or poisson 100/s", s, err)
}

// MarshalText writes the rate as it was read.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.Text), nil }

// IsZero reports whether no rate was given.
func (r Rate) IsZero() bool { return r.Text == "" }

// Pacer returns the loadgen pacer for the rate over a phase of length d.
func (r Rate) Pacer(d time.Duration, seed uint64) loadgen.Pacer {
	switch {
	case r.Poisson:
		return loadgen.Poisson(r.From, seed)
	case r.From != r.To:
		return loadgen.Linear(r.From, r.To, d)
	default:
		return loadgen.Constant(r.From)
	}
}

// Size is a byte count written as 512, "1KiB" or "2MiB".
type Size int64

// UnmarshalText parses a size.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := parseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

func parseSize(text string) (int64, error) {
	t := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"KB", 1000}, {"MB", 1000 * 1000}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size; write bytes like 512, 1KiB or 2MiB", text)
	}
	return n * mult, nil
}
