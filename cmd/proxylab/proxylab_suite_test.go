package main

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"go.uber.org/goleak"
)

func TestProxylab(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "cmd/proxylab")
}

var (
	leakOpt goleak.Option
	binary  string // the proxylab binary under test, built once
)

var _ = BeforeSuite(func() {
	leakOpt = goleak.IgnoreCurrent()
	var err error
	binary, err = gexec.Build("github.com/proxylab/proxylab/cmd/proxylab")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)
})

var _ = AfterSuite(func() {
	Eventually(func() error { return goleak.Find(leakOpt) }).Should(Succeed())
})
