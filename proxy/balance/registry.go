package balance

import (
	"fmt"
	"slices"
	"strings"
)

// factory builds one policy from a Config that has its defaults applied.
type factory func(cfg Config) (Balancer, error)

// registry is the one table of policies, keyed by the name used in
// configuration files and flags. Add a policy here and nowhere else.
var registry = map[string]factory{
	"round_robin":          func(cfg Config) (Balancer, error) { return NewRoundRobin(cfg), nil },
	"weighted_round_robin": func(cfg Config) (Balancer, error) { return NewWeightedRoundRobin(cfg), nil },
	"least_conn":           func(cfg Config) (Balancer, error) { return NewLeastConn(cfg), nil },
	"p2c":                  func(cfg Config) (Balancer, error) { return NewP2C(cfg), nil },
	"random":               func(cfg Config) (Balancer, error) { return NewRandom(cfg), nil },
	"consistent_hash":      func(cfg Config) (Balancer, error) { return NewConsistentHash(cfg) },
	"sticky_cookie":        func(cfg Config) (Balancer, error) { return NewStickyCookie(cfg) },
	"first":                func(cfg Config) (Balancer, error) { return NewFirst(cfg), nil },
}

// New builds the policy cfg.Policy names, with cfg's zero fields defaulted.
// An unknown name is an error that lists the accepted names.
func New(cfg Config) (Balancer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f, ok := registry[cfg.Policy]
	if !ok {
		return nil, fmt.Errorf("balance policy %q: unknown; want one of %s", cfg.Policy, strings.Join(Policies(), ", "))
	}
	b, err := f(cfg)
	if err != nil {
		return nil, fmt.Errorf("balance policy %s: %w", cfg.Policy, err)
	}
	return b, nil
}

// Policies returns the names New accepts, sorted.
func Policies() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
