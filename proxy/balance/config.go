package balance

import (
	"fmt"
	"strings"
	"time"
)

// Defaults applied by Config.withDefaults for zero fields.
const (
	// DefaultPolicy is the policy used when Config.Policy is empty.
	DefaultPolicy = "round_robin"
	// DefaultKey is the hash key used when Config.Key is empty.
	DefaultKey = "ip"
	// DefaultCookie is the sticky cookie name used when Config.Cookie is empty.
	DefaultCookie = "proxylab_sticky"
	// DefaultLoadFactor bounds consistent hashing when Config.LoadFactor is 0.
	DefaultLoadFactor = 1.25
)

// Config selects and tunes a policy. Every field's zero value means a
// documented default, so Config{} is a plain round robin.
type Config struct {
	// Policy is the policy name (see Policies). Empty means round_robin.
	Policy string `yaml:"policy" json:"policy"`
	// Key is what consistent_hash hashes: "ip" (client IP from RemoteAddr),
	// "header:NAME", "cookie:NAME" or "uri". Empty means "ip". Other policies
	// ignore it.
	Key string `yaml:"key" json:"key"`
	// Cookie is the sticky_cookie cookie name. Empty means "proxylab_sticky".
	Cookie string `yaml:"cookie" json:"cookie"`
	// Secret is the HMAC key that signs sticky cookies. Empty means a key
	// derived from Seed, so cookies survive a restart with the same seed but
	// are guessable by anyone who knows the seed: set a secret in production.
	Secret string `yaml:"secret" json:"secret"`
	// SlowStart ramps a server that became available less than SlowStart ago
	// from 10% to 100% of its weight, linearly. Zero turns slow start off.
	SlowStart time.Duration `yaml:"slow_start" json:"slow_start"`
	// Seed seeds every random choice (random, p2c, slow start). Zero is a
	// valid seed: the same seed always gives the same sequence of choices
	// for the same sequence of calls.
	Seed uint64 `yaml:"seed" json:"seed"`
	// LoadFactor bounds consistent_hash: a server with more than
	// LoadFactor × mean in-flight requests is passed over for the next one in
	// key order. Zero means 1.25; otherwise it must be at least 1.
	LoadFactor float64 `yaml:"load_factor" json:"load_factor"`
}

// withDefaults returns c with zero fields replaced by their defaults and
// checks what is left; it is the one place defaults are applied.
func (c Config) withDefaults() (Config, error) {
	c.Policy = strings.TrimSpace(c.Policy)
	if c.Policy == "" {
		c.Policy = DefaultPolicy
	}
	if c.Key == "" {
		c.Key = DefaultKey
	}
	if c.Cookie == "" {
		c.Cookie = DefaultCookie
	}
	if c.LoadFactor == 0 {
		c.LoadFactor = DefaultLoadFactor
	}
	var problems []string
	if c.LoadFactor < 1 {
		problems = append(problems, fmt.Sprintf("load factor %v: want 0 (default %v) or a number >= 1", c.LoadFactor, DefaultLoadFactor))
	}
	if c.SlowStart < 0 {
		problems = append(problems, fmt.Sprintf("slow start %v: want 0 (off) or a positive duration such as 30s", c.SlowStart))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("balance config: %s", strings.Join(problems, "; "))
	}
	return c, nil
}
