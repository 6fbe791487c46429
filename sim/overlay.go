package sim

import (
	"fmt"

	"github.com/goccy/go-yaml"
)

// overlay lays the YAML document patch over the value cur (a config struct)
// and decodes the result into out: maps merge key by key, anything else in
// the patch replaces what was there.
func overlay(cur any, patch []byte, out any) error {
	base, err := yaml.Marshal(cur)
	if err != nil {
		return fmt.Errorf("encode current config: %w", err)
	}
	var a, b map[string]any
	if err := yaml.Unmarshal(base, &a); err != nil {
		return fmt.Errorf("decode current config: %w", err)
	}
	if err := yaml.Unmarshal(patch, &b); err != nil {
		return fmt.Errorf("decode config patch: %w", err)
	}
	merged, err := yaml.Marshal(merge(a, b))
	if err != nil {
		return fmt.Errorf("encode merged config: %w", err)
	}
	if err := yaml.UnmarshalWithOptions(merged, out, yaml.Strict()); err != nil {
		return fmt.Errorf("config patch: %w", err)
	}
	return nil
}

func merge(a, b map[string]any) map[string]any {
	if a == nil {
		a = map[string]any{}
	}
	for k, bv := range b {
		am, aok := a[k].(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok && bok {
			a[k] = merge(am, bm)
			continue
		}
		a[k] = bv
	}
	return a
}
