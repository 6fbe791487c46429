package health

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of ActiveConfig, applied by withDefaults.
const (
	DefaultPath     = "/healthz"
	DefaultInterval = time.Second
	DefaultTimeout  = time.Second
	DefaultRise     = 2
	DefaultFall     = 3
)

// ActiveConfig tunes the active checker. Every zero field means its default.
type ActiveConfig struct {
	// Path is probed on every upstream, resolved against its URL. Empty means
	// /healthz; it must start with "/" and may carry a query.
	Path string `yaml:"path" json:"path"`
	// Interval is the time between two probes of one upstream. Zero means 1s.
	Interval time.Duration `yaml:"interval" json:"interval"`
	// Jitter spreads probes: each wait is Interval ± a uniform random amount up
	// to Jitter. Zero means Interval/10; negative turns jitter off.
	Jitter time.Duration `yaml:"jitter" json:"jitter"`
	// Timeout bounds one probe (connect, headers and body); a probe that takes
	// longer fails. Zero means 1s.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Expect is the status a healthy upstream answers. Zero means any 2xx.
	Expect int `yaml:"expect" json:"expect"`
	// Rise is how many successful probes in a row make an unhealthy upstream
	// healthy. Zero means 2.
	Rise int `yaml:"rise" json:"rise"`
	// Fall is how many failed probes in a row make a healthy upstream
	// unhealthy. Zero means 3; with Fall 1 one failed probe ejects.
	Fall int `yaml:"fall" json:"fall"`
	// Host overrides the Host header of probes. Empty means the upstream's.
	Host string `yaml:"host" json:"host"`
}

// withDefaults is the one place ActiveConfig's defaults are applied; it
// returns every problem found, not just the first.
func (c ActiveConfig) withDefaults() (ActiveConfig, error) {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Jitter == 0 {
		c.Jitter = c.Interval / 10
	}
	if c.Jitter < 0 {
		c.Jitter = 0
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Rise == 0 {
		c.Rise = DefaultRise
	}
	if c.Fall == 0 {
		c.Fall = DefaultFall
	}
	var problems []string
	if !strings.HasPrefix(c.Path, "/") {
		problems = append(problems, fmt.Sprintf("path %q: want an absolute path such as /healthz", c.Path))
	}
	if c.Interval < 0 {
		problems = append(problems, fmt.Sprintf("interval %v: want a positive duration such as 1s", c.Interval))
	}
	if c.Jitter >= c.Interval && c.Interval > 0 {
		problems = append(problems, fmt.Sprintf("jitter %v: want less than the interval %v", c.Jitter, c.Interval))
	}
	if c.Timeout < 0 {
		problems = append(problems, fmt.Sprintf("timeout %v: want a positive duration such as 1s", c.Timeout))
	}
	if c.Expect != 0 && (c.Expect < 100 || c.Expect > 599) {
		problems = append(problems, fmt.Sprintf("expect %d: want 0 (any 2xx) or a status 100-599", c.Expect))
	}
	if c.Rise < 0 {
		problems = append(problems, fmt.Sprintf("rise %d: want 0 (default %d) or a positive count", c.Rise, DefaultRise))
	}
	if c.Fall < 0 {
		problems = append(problems, fmt.Sprintf("fall %d: want 0 (default %d) or a positive count", c.Fall, DefaultFall))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("active health config: %s", strings.Join(problems, "; "))
	}
	return c, nil
}
