package forward

import (
	"fmt"

	"github.com/goccy/go-yaml"

	"github.com/proxylab/proxylab/proxy"
)

// ParseConfig reads a Config from YAML (or JSON, which is YAML). Unknown
// fields are errors, reported with their line and column; the result is
// checked as New would check it.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict()); err != nil {
		return Config{}, fmt.Errorf("forward proxy config: %s", yaml.FormatError(err, false, true))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// SwapConfig parses data with ParseConfig and swaps to it atomically; on
// error the old policy stays. It serves the admin API's PUT /config.
func (p *Proxy) SwapConfig(data []byte) error {
	cfg, err := ParseConfig(data)
	if err != nil {
		return err
	}
	return p.Swap(cfg)
}

// The admin API is written around pools of upstream servers; a forward proxy
// has none, so it lists no pool and every pool operation is "not found".

// Pools returns no pool: a forward proxy's destinations are its clients' choice.
func (p *Proxy) Pools() []proxy.PoolStatus { return []proxy.PoolStatus{} }

// AddServer is not supported: there is no pool.
func (p *Proxy) AddServer(pool string, _ proxy.UpstreamSpec) error { return noPool(pool) }

// RemoveServer is not supported: there is no pool.
func (p *Proxy) RemoveServer(pool, _ string) error { return noPool(pool) }

// DrainServer is not supported: there is no pool.
func (p *Proxy) DrainServer(pool, _ string) error { return noPool(pool) }

// SetWeight is not supported: there is no pool.
func (p *Proxy) SetWeight(pool, _ string, _ int) error { return noPool(pool) }

func noPool(pool string) error {
	return fmt.Errorf("pool %q: the forward proxy has no pools (use PUT /config): %w", pool, proxy.ErrNotFound)
}
