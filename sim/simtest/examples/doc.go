// Package examples is a suite of Ginkgo specs written the way a team tests its
// own proxy with proxylab as a library (see docs/library.md): one spec per
// drawing (forward and reverse), a crash and a partition under load, an
// external proxy (nginx, skipped when it is not installed) and scenario files
// run as specs.
// It has no code of its own; `go test ./sim/simtest/examples` runs it.
package examples
