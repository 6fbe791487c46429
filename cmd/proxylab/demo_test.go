package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

var _ = Describe("make demo", Label("demo"), func() {
	It("should play the demo scenarios, draw a verdict table and write the HTML report, exiting 0", func() {
		report := GinkgoT().TempDir()
		cmd := exec.Command(binary, "run", "scenarios/demo", "--report", report)
		cmd.Dir = filepath.Join("..", "..")
		s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(s).WithTimeout(60 * time.Second).Should(gexec.Exit())
		Expect(s.ExitCode()).To(Equal(exitOK), string(s.Out.Contents()))
		out := string(s.Out.Contents())
		Expect(out).To(ContainSubstring("SCENARIO"))
		Expect(out).To(MatchRegexp(`demo-forward\s+forward\s+passed`))
		Expect(out).To(MatchRegexp(`demo-reverse\s+reverse\s+passed`))
		Expect(out).To(ContainSubstring("report: " + filepath.Join(report, "report.html")))
		for _, f := range []string{"report.html", "results.json", "junit.xml", "events.jsonl"} {
			st, err := os.Stat(filepath.Join(report, f))
			Expect(err).NotTo(HaveOccurred(), f)
			Expect(st.Size()).To(BeNumerically(">", 0), f)
		}
	})
})
