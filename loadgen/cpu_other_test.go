//go:build !unix

package loadgen_test

import "time"

// processCPU is not measured here: benchmarks report 0 CPU per request.
func processCPU() time.Duration { return 0 }
