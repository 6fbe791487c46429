package socket_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/goleak"
)

func TestSocket(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "proxy/socket")
}

var leakOpt goleak.Option

var _ = BeforeSuite(func() {
	leakOpt = goleak.IgnoreCurrent()
})

var _ = AfterSuite(func() {
	Eventually(func() error { return goleak.Find(leakOpt) }).Should(Succeed())
})
