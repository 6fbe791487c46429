package bench

import (
	"context"
	"fmt"
)

// Run measures every target of cfg, as the package doc says, and returns
// their figures side by side. It stops every process and server it started
// before it returns. A peer that is not installed is skipped (Result.Skipped
// says how to install it); a target that fails to start fails the run.
func Run(ctx context.Context, cfg Config, opts ...Option) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return nil, fmt.Errorf("bench: not implemented yet")
}
