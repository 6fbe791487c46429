package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// rateForm is the accepted form, quoted in every ParseRate error.
const rateForm = `N/unit, such as "400/s", "20/100ms" or "1000/1m"`

// ParseRate parses a rate written as hits per unit of time and returns hits
// per second: "400/s", "20/100ms" (200/s), "1000/1m" (16.67/s). The unit is a
// Go duration ("100ms", "1m"), or a bare unit ("s", "ms", "m", "h") meaning one
// of it. The rate must be positive and finite.
func ParseRate(s string) (float64, error) {
	num, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, fmt.Errorf("rate %q: missing unit, want %s", s, rateForm)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("rate %q: %q is not a number, want %s", s, num, rateForm)
	}
	if n <= 0 {
		return 0, fmt.Errorf("rate %q: must be positive, want %s", s, rateForm)
	}
	per = strings.TrimSpace(per)
	if per != "" && (per[0] < '0' || per[0] > '9') && per[0] != '.' {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil {
		return 0, fmt.Errorf("rate %q: unknown unit %q, want %s", s, strings.TrimPrefix(per, "1"), rateForm)
	}
	if d <= 0 {
		return 0, fmt.Errorf("rate %q: unit must be a positive duration, want %s", s, rateForm)
	}
	return n / d.Seconds(), nil
}

// FormatRate writes a rate in hits per second the way ParseRate reads it.
func FormatRate(perSecond float64) string {
	return strconv.FormatFloat(perSecond, 'f', -1, 64) + "/s"
}
