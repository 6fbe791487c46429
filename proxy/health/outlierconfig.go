package health

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of OutlierConfig, applied by withDefaults.
const (
	DefaultConsecutive       = 5
	DefaultMinRequests       = 20
	DefaultWindow            = 10 * time.Second
	DefaultBaseEjection      = 30 * time.Second
	DefaultMaxEjection       = 5 * time.Minute
	DefaultMaxEjectedPercent = 50
)

// OutlierConfig tunes passive outlier ejection. Every zero field means its
// default.
type OutlierConfig struct {
	// Consecutive failures in a row eject an upstream. Zero means 5; a
	// negative value turns this rule off.
	Consecutive int `yaml:"consecutive" json:"consecutive"`
	// ErrorRate ejects an upstream whose share of failures in the current
	// window reaches it (0 < rate <= 1), once the window holds MinRequests
	// outcomes. Zero turns this rule off.
	ErrorRate float64 `yaml:"error_rate" json:"error_rate"`
	// MinRequests is how many outcomes a window needs before ErrorRate is
	// judged. Zero means 20.
	MinRequests int `yaml:"min_requests" json:"min_requests"`
	// Window is the length of the fixed windows ErrorRate is measured over;
	// the counts restart when a window is over. Zero means 10s.
	Window time.Duration `yaml:"window" json:"window"`
	// BaseEjection is the first ejection's length; the n-th ejection in a row
	// lasts BaseEjection × n. Zero means 30s.
	BaseEjection time.Duration `yaml:"base_ejection" json:"base_ejection"`
	// MaxEjection caps one ejection's length. An upstream that stays in
	// rotation for MaxEjection after an ejection starts again from
	// BaseEjection. Zero means 5m; it must not be below BaseEjection.
	MaxEjection time.Duration `yaml:"max_ejection" json:"max_ejection"`
	// MaxEjectedPercent caps the share of the pool that may be ejected at once
	// (rounded down). Zero means 50; 100 allows all but the last available.
	MaxEjectedPercent int `yaml:"max_ejected_percent" json:"max_ejected_percent"`
}

// withDefaults is the one place OutlierConfig's defaults are applied; it
// returns every problem found, not just the first.
func (c OutlierConfig) withDefaults() (OutlierConfig, error) {
	if c.Consecutive == 0 {
		c.Consecutive = DefaultConsecutive
	}
	if c.MinRequests == 0 {
		c.MinRequests = DefaultMinRequests
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.BaseEjection == 0 {
		c.BaseEjection = DefaultBaseEjection
	}
	if c.MaxEjection == 0 {
		c.MaxEjection = max(DefaultMaxEjection, c.BaseEjection)
	}
	if c.MaxEjectedPercent == 0 {
		c.MaxEjectedPercent = DefaultMaxEjectedPercent
	}
	var problems []string
	if c.ErrorRate < 0 || c.ErrorRate > 1 {
		problems = append(problems, fmt.Sprintf("error rate %v: want 0 (off) or a share in (0, 1] such as 0.5", c.ErrorRate))
	}
	if c.MinRequests < 0 {
		problems = append(problems, fmt.Sprintf("min requests %d: want 0 (default %d) or a positive count", c.MinRequests, DefaultMinRequests))
	}
	if c.Window < 0 {
		problems = append(problems, fmt.Sprintf("window %v: want a positive duration such as 10s", c.Window))
	}
	if c.BaseEjection < 0 {
		problems = append(problems, fmt.Sprintf("base ejection %v: want a positive duration such as 30s", c.BaseEjection))
	}
	if c.MaxEjection < c.BaseEjection {
		problems = append(problems, fmt.Sprintf("max ejection %v: want at least the base ejection %v", c.MaxEjection, c.BaseEjection))
	}
	if c.MaxEjectedPercent < 0 || c.MaxEjectedPercent > 100 {
		problems = append(problems, fmt.Sprintf("max ejected percent %d: want 0 (default %d) or 1-100", c.MaxEjectedPercent, DefaultMaxEjectedPercent))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("outlier config: %s", strings.Join(problems, "; "))
	}
	return c, nil
}
