package scenarios_test

import (
	"os"
	"path/filepath"
	"regexp"

	. "github.com/onsi/gomega"
)

// updateGolden rewrites golden files instead of comparing with them:
// PROXYLAB_UPDATE_GOLDEN=1 go test ./scenarios/...
var updateGolden = os.Getenv("PROXYLAB_UPDATE_GOLDEN") != ""

// expectGolden compares got with testdata/explain/name.
func expectGolden(name, got string) {
	path := filepath.Join("testdata", "explain", name)
	if updateGolden {
		Expect(os.WriteFile(path, []byte(got), 0o644)).To(Succeed())
	}
	want, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "missing golden file; run with PROXYLAB_UPDATE_GOLDEN=1 to create it")
	Expect(got).To(Equal(string(want)), "differs from %s; run with PROXYLAB_UPDATE_GOLDEN=1 to accept", path)
}

// volatile are the parts of live output that change from run to run: ports
// of loopback addresses, dates, the servers' measured delays and the length
// of echo bodies (which carry a port).
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(127\.\d+\.\d+\.\d+):\d+`), "$1:PORT"},
	{regexp.MustCompile(`Date: .*`), "Date: DATE"},
	{regexp.MustCompile(`X-Sim-Delay: .*`), "X-Sim-Delay: DELAY"},
	{regexp.MustCompile(`Content-Length: \d+`), "Content-Length: N"},
}

func stable(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}
