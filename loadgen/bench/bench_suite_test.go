package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/goleak"
)

func TestBench(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Bench Suite")
}

var (
	leakOpt goleak.Option
	// proxylabBin is a proxylab binary built for the suite: Run starts the
	// built-in proxies as its children.
	proxylabBin string
)

var _ = BeforeSuite(func() {
	leakOpt = goleak.IgnoreCurrent()
	dir, err := os.MkdirTemp("", "proxylab-bench-test-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	proxylabBin = filepath.Join(dir, "proxylab")
	build := exec.Command("go", "build", "-o", proxylabBin, "../../cmd/proxylab")
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build ./cmd/proxylab: %s", out)
})

var _ = AfterSuite(func() {
	Eventually(func() error { return goleak.Find(leakOpt) }).Should(Succeed())
})
