package examples_test

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/proxylab/proxylab/sim/simtest"
)

// Scenario files run as specs, through the same runner as `proxylab run`:
// one entry per file, labelled with its area (ginkgo --label-filter=forward),
// a failing expectation failing the entry with what was observed, an
// external program that is not installed skipping it with the install hint.
var _ = DescribeTable("scenario files", simtest.RunCase, simtest.ScenarioEntries("testdata/scenarios"))
