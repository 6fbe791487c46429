package server

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// latencyForm is the expected form quoted by every latency parse error.
const latencyForm = "want DURATION (5ms), MIN-MAX (1ms-5ms), normal(MEAN,STDDEV), " +
	"lognormal(MEAN,STDDEV) or a weighted mix DIST:WEIGHT[,DIST:WEIGHT…] like 5ms:80,250ms:2"

// Latency is a distribution of delays. The zero value means no delay.
//
// Forms, as ParseLatency reads them:
//
//	5ms                    fixed
//	1ms-5ms                uniform between the bounds
//	normal(10ms,2ms)       normal with that mean and standard deviation, clamped at 0
//	lognormal(10ms,2ms)    log-normal with that MEAN and STANDARD DEVIATION (of the delay itself,
//	                       not of its logarithm); its median is MEAN/sqrt(1+(STDDEV/MEAN)²),
//	                       so lognormal(10ms,2ms) has a median of 9.81ms and a long right tail
//	5ms:80,250ms:2         weighted mix of any of the above, in percent: 80% take 5ms, 2% take
//	                       250ms and the remaining 18% take no delay. When the weights add up to
//	                       more than 100 they are relative (1ms:1,2ms:3 is 25%/75%).
type Latency struct {
	spec  string
	parts []latencyPart
	total float64 // sum of weights; the remainder up to 100 is "no delay"
}

type latencyPart struct {
	weight float64
	dist   distribution
}

// distribution draws one delay.
type distribution interface {
	sample(r *rand.Rand) time.Duration
}

type fixed time.Duration

func (f fixed) sample(*rand.Rand) time.Duration { return time.Duration(f) }

type uniform struct{ lo, hi time.Duration }

func (u uniform) sample(r *rand.Rand) time.Duration {
	if u.hi <= u.lo {
		return u.lo
	}
	return u.lo + time.Duration(r.Uint64N(uint64(u.hi-u.lo)+1))
}

type normal struct{ mean, stddev time.Duration }

func (n normal) sample(r *rand.Rand) time.Duration {
	return clampDuration(float64(n.mean) + r.NormFloat64()*float64(n.stddev))
}

type lognormal struct{ mu, sigma float64 } // of ln(delay in ns)

func (l lognormal) sample(r *rand.Rand) time.Duration {
	return clampDuration(math.Exp(l.mu + l.sigma*r.NormFloat64()))
}

// clampDuration converts nanoseconds to a Duration between 0 and the largest one.
func clampDuration(ns float64) time.Duration {
	switch {
	case !(ns > 0): // also NaN
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// FixedLatency returns a Latency that always waits d.
func FixedLatency(d time.Duration) Latency {
	if d <= 0 {
		return Latency{}
	}
	return Latency{spec: d.String(), parts: []latencyPart{{weight: 100, dist: fixed(d)}}, total: 100}
}

// ParseLatency reads a latency distribution (see Latency for the forms).
// The empty string and "0" mean no delay.
func ParseLatency(s string) (Latency, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Latency{}, nil
	}
	items := splitTop(s)
	l := Latency{spec: s}
	for _, item := range items {
		body, weight, hasWeight, err := cutWeight(item)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: %w; %s", s, err, latencyForm)
		}
		if !hasWeight {
			if len(items) > 1 {
				return Latency{}, fmt.Errorf("latency %q: %q has no weight; %s", s, item, latencyForm)
			}
			weight = 100
		}
		d, err := parseDistribution(body)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: %w; %s", s, err, latencyForm)
		}
		l.parts = append(l.parts, latencyPart{weight: weight, dist: d})
		l.total += weight
	}
	return l, nil
}

// MustParseLatency is ParseLatency for literals in tests and examples; it
// returns the zero Latency when s does not parse.
func MustParseLatency(s string) Latency {
	l, _ := ParseLatency(s)
	return l
}

// Sample draws one delay.
func (l Latency) Sample(r *rand.Rand) time.Duration {
	if len(l.parts) == 0 {
		return 0
	}
	part, ok := pickWeighted(r, l.total, len(l.parts), func(i int) float64 { return l.parts[i].weight })
	if !ok {
		return 0
	}
	return l.parts[part].dist.sample(r)
}

// IsZero reports whether l never delays.
func (l Latency) IsZero() bool { return len(l.parts) == 0 }

// String returns the form l was parsed from.
func (l Latency) String() string { return l.spec }

// MarshalText writes the parsed form, so configs round-trip.
func (l Latency) MarshalText() ([]byte, error) { return []byte(l.spec), nil }

// UnmarshalText parses with ParseLatency, so YAML and flags can hold a Latency.
func (l *Latency) UnmarshalText(b []byte) error {
	v, err := ParseLatency(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

func parseDistribution(s string) (distribution, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "normal(") || strings.HasPrefix(s, "lognormal("):
		name, args, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
		if !strings.HasSuffix(s, ")") {
			return nil, fmt.Errorf("%q lacks its closing parenthesis", s)
		}
		a, b, ok := strings.Cut(args, ",")
		if !ok {
			return nil, fmt.Errorf("%q needs two durations, MEAN,STDDEV", s)
		}
		mean, err := parseDuration(a)
		if err != nil {
			return nil, err
		}
		sd, err := parseDuration(b)
		if err != nil {
			return nil, err
		}
		if name == "normal" {
			return normal{mean: mean, stddev: sd}, nil
		}
		if mean <= 0 {
			return nil, fmt.Errorf("%q: a log-normal mean must be above 0", s)
		}
		m, v := float64(mean), float64(sd)*float64(sd)
		sigma2 := math.Log1p(v / (m * m))
		return lognormal{mu: math.Log(m) - sigma2/2, sigma: math.Sqrt(sigma2)}, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err := parseDuration(a)
		if err != nil {
			return nil, err
		}
		hi, err := parseDuration(b)
		if err != nil {
			return nil, err
		}
		if hi < lo {
			return nil, fmt.Errorf("range %q ends before it starts", s)
		}
		return uniform{lo: lo, hi: hi}, nil
	default:
		d, err := parseDuration(s)
		if err != nil {
			return nil, err
		}
		return fixed(d), nil
	}
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// splitTop splits s at commas that are not inside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// cutWeight splits "VALUE:WEIGHT" at the last colon outside parentheses.
func cutWeight(item string) (value string, weight float64, ok bool, err error) {
	i := strings.LastIndex(item, ":")
	if i < 0 || i < strings.LastIndex(item, ")") {
		return item, 0, false, nil
	}
	w := strings.TrimSpace(item[i+1:])
	weight, perr := strconv.ParseFloat(w, 64)
	if perr != nil || math.IsNaN(weight) || math.IsInf(weight, 0) {
		return "", 0, false, fmt.Errorf("weight %q is not a number", w)
	}
	if weight < 0 {
		return "", 0, false, fmt.Errorf("weight %q is negative", w)
	}
	return strings.TrimSpace(item[:i]), weight, true, nil
}

// pickWeighted draws an index among n weighted parts. When the weights add up
// to 100 or less the remainder picks nothing (ok == false); above 100 they are
// relative.
func pickWeighted(r *rand.Rand, total float64, n int, weight func(int) float64) (int, bool) {
	scale := math.Max(total, 100)
	x := r.Float64() * scale
	for i := range n {
		x -= weight(i)
		if x < 0 {
			return i, true
		}
	}
	return 0, false
}
