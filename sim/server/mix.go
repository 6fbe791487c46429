package server

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

const (
	statusForm      = "want CODE:WEIGHT[,CODE:WEIGHT…] like 200:99,503:1 (or one CODE)"
	sizeForm        = "want SIZE:WEIGHT[,SIZE:WEIGHT…] like 1KiB:90,16KiB:10 (or one SIZE); SIZE is bytes or B, KB, KiB, MB, MiB"
	probabilityForm = "want a probability between 0 and 1 like 0.05, or a percentage like 5%"
	headerForm      = "want NAME:VALUE like X-Env:test"
)

// StatusMix is a weighted choice of status codes, in percent. The zero value
// always answers 200; when the weights add up to less than 100 the remainder
// answers 200, and above 100 they are relative.
type StatusMix struct {
	spec  string
	codes []int
	w     []float64
	total float64
}

// ParseStatusMix reads "200:99,503:1" or a single code "503".
func ParseStatusMix(s string) (StatusMix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return StatusMix{}, nil
	}
	m := StatusMix{spec: s}
	items := strings.Split(s, ",")
	for _, item := range items {
		code, weight, ok, err := cutWeight(strings.TrimSpace(item))
		if err != nil {
			return StatusMix{}, fmt.Errorf("status %q: %w; %s", s, err, statusForm)
		}
		if !ok {
			if len(items) > 1 {
				return StatusMix{}, fmt.Errorf("status %q: %q has no weight; %s", s, item, statusForm)
			}
			weight = 100
		}
		c, err := strconv.Atoi(code)
		if err != nil || c < 100 || c > 999 {
			return StatusMix{}, fmt.Errorf("status %q: code %q is not a status code from 100 to 999; %s", s, code, statusForm)
		}
		m.codes = append(m.codes, c)
		m.w = append(m.w, weight)
		m.total += weight
	}
	return m, nil
}

// MustParseStatusMix is ParseStatusMix for literals; it returns the zero mix
// when s does not parse.
func MustParseStatusMix(s string) StatusMix {
	m, _ := ParseStatusMix(s)
	return m
}

// Sample draws one status code.
func (m StatusMix) Sample(r *rand.Rand) int {
	i, ok := pickWeighted(r, m.total, len(m.codes), func(i int) float64 { return m.w[i] })
	if !ok {
		return http.StatusOK
	}
	return m.codes[i]
}

// IsZero reports whether m always answers 200.
func (m StatusMix) IsZero() bool { return len(m.codes) == 0 }

// String returns the form m was parsed from.
func (m StatusMix) String() string { return m.spec }

// MarshalText writes the parsed form.
func (m StatusMix) MarshalText() ([]byte, error) { return []byte(m.spec), nil }

// UnmarshalText parses with ParseStatusMix.
func (m *StatusMix) UnmarshalText(b []byte) error {
	v, err := ParseStatusMix(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// SizeMix is a weighted choice of body sizes in bytes, in percent. The zero
// value sends no body; when the weights add up to less than 100 the remainder
// sends no body, and above 100 they are relative.
type SizeMix struct {
	spec  string
	sizes []int64
	w     []float64
	total float64
}

// ParseSizeMix reads "1KiB:90,16KiB:10", "2048:10" or a single size "1KiB".
func ParseSizeMix(s string) (SizeMix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return SizeMix{}, nil
	}
	m := SizeMix{spec: s}
	items := strings.Split(s, ",")
	for _, item := range items {
		v, weight, ok, err := cutWeight(strings.TrimSpace(item))
		if err != nil {
			return SizeMix{}, fmt.Errorf("size %q: %w; %s", s, err, sizeForm)
		}
		if !ok {
			if len(items) > 1 {
				return SizeMix{}, fmt.Errorf("size %q: %q has no weight; %s", s, item, sizeForm)
			}
			weight = 100
		}
		n, err := ParseSize(v)
		if err != nil {
			return SizeMix{}, fmt.Errorf("size %q: %w; %s", s, err, sizeForm)
		}
		m.sizes = append(m.sizes, n)
		m.w = append(m.w, weight)
		m.total += weight
	}
	return m, nil
}

// MustParseSizeMix is ParseSizeMix for literals; it returns the zero mix when
// s does not parse.
func MustParseSizeMix(s string) SizeMix {
	m, _ := ParseSizeMix(s)
	return m
}

// Sample draws one body size.
func (m SizeMix) Sample(r *rand.Rand) int64 {
	i, ok := pickWeighted(r, m.total, len(m.sizes), func(i int) float64 { return m.w[i] })
	if !ok {
		return 0
	}
	return m.sizes[i]
}

// IsZero reports whether m never sends a body.
func (m SizeMix) IsZero() bool { return len(m.sizes) == 0 }

// String returns the form m was parsed from.
func (m SizeMix) String() string { return m.spec }

// MarshalText writes the parsed form.
func (m SizeMix) MarshalText() ([]byte, error) { return []byte(m.spec), nil }

// UnmarshalText parses with ParseSizeMix.
func (m *SizeMix) UnmarshalText(b []byte) error {
	v, err := ParseSizeMix(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first so "KiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"k", 1000}, {"K", 1000}, {"B", 1},
}

// ParseSize reads a byte count: plain bytes ("2048") or with a unit (B, KB,
// KiB, MB, MiB, GB, GiB; k means KB).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	num := s
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mult) > 1<<40 {
		return 0, fmt.Errorf("%q is not a size in bytes", s)
	}
	return int64(f * float64(mult)), nil
}

// ParseProbability reads "0.05" or "5%" into a probability in [0, 1].
func ParseProbability(name, s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	scale, num := 1.0, s
	if strings.HasSuffix(s, "%") {
		scale, num = 100, strings.TrimSuffix(s, "%")
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(p) {
		return 0, fmt.Errorf("%s %q is not a number; %s", name, s, probabilityForm)
	}
	p /= scale
	if p < 0 || p > 1 {
		return 0, fmt.Errorf("%s %q is outside 0..1; %s", name, s, probabilityForm)
	}
	return p, nil
}

// ParseHeader reads one extra response header "Name:Value".
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		return "", "", fmt.Errorf("header %q: %s", s, headerForm)
	}
	return name, strings.TrimSpace(value), nil
}
