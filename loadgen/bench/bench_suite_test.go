package bench

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/goleak"
)

func TestBench(t *testing.T) {
	if childMode() {
		os.Exit(runChildProxy())
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "Bench Suite")
}

var (
	leakOpt goleak.Option
	// proxylabBin is what Run starts the built-in proxies with: this test
	// binary, which serves them in childMode.
	proxylabBin string
)

var _ = BeforeSuite(func() {
	leakOpt = goleak.IgnoreCurrent()
	var err error
	proxylabBin, err = os.Executable()
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	Eventually(func() error { return goleak.Find(leakOpt) }).Should(Succeed())
})
