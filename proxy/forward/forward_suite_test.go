package forward_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/goleak"
)

func TestForward(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "proxy/forward")
}

var leakOpt goleak.Option

var _ = BeforeSuite(func() {
	leakOpt = goleak.IgnoreCurrent()
})

var _ = AfterSuite(func() {
	Eventually(func() error { return goleak.Find(leakOpt) }).WithTimeout(10 * time.Second).Should(Succeed())
})
