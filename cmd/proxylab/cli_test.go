package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"github.com/spf13/cobra"
)

// proxylab runs the built binary with args and waits for it to exit.
func proxylab(args ...string) *gexec.Session {
	GinkgoHelper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=") // colour stays off anyway: stdout is a pipe
	s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(s).WithTimeout(60 * time.Second).Should(gexec.Exit())
	return s
}

// commandPaths lists every command of the tree, such as "proxy reverse".
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" {
			continue
		}
		path := append(append([]string(nil), prefix...), sub.Name())
		out = append(out, path)
		out = append(out, commandPaths(sub, path)...)
	}
	return out
}

// writeFile writes a scenario file into dir and returns its path.
func writeFile(dir, name, body string) string {
	GinkgoHelper()
	p := filepath.Join(dir, name)
	Expect(os.WriteFile(p, []byte(body), 0o644)).To(Succeed())
	return p
}

const passing = `name: cli-passing
proxy: {mode: reverse}
servers: [{name: server1..2}]
load: [{phase: p, duration: 300ms, rate: 20/s}]
expect: [ledger.lost == 0]
`

const failing = `name: cli-failing
proxy: {mode: reverse}
servers: [{name: server1}]
load: [{phase: p, duration: 300ms, rate: 20/s}]
expect: [server("server1").requests == 0]
`

const broken = `name: cli-broken
proxy: {mode: reverse}
servers: [{name: server1}]
laod: [{phase: p, duration: 300ms, rate: 20/s}]
expect: [requests > 0]
`

var _ = Describe("the proxylab command", func() {
	It("should give every command a help text that exits 0", func() {
		paths := commandPaths(newRootCommand(), nil)
		Expect(len(paths)).To(BeNumerically(">=", 9))
		for _, p := range append(paths, []string{}) {
			s := proxylab(append(p, "--help")...)
			Expect(s.ExitCode()).To(Equal(exitOK), strings.Join(p, " "))
			Expect(string(s.Out.Contents())).To(ContainSubstring("Usage:"), strings.Join(p, " "))
		}
	})

	DescribeTable("should show examples in the help of",
		func(args ...string) {
			s := proxylab(append(args, "--help")...)
			Expect(s.ExitCode()).To(Equal(exitOK))
			Expect(string(s.Out.Contents())).To(ContainSubstring("Examples:"))
		},
		// The root help is the first thing a newcomer reads.
		Entry("the root"),
		// The teaching command.
		Entry("explain", "explain"),
		// The scenario engine's two commands.
		Entry("run", "run"),
		Entry("validate", "validate"),
		// Standalone tools.
		Entry("load", "load"),
		Entry("serve", "serve"),
		Entry("proxy forward", "proxy", "forward"),
		Entry("proxy reverse", "proxy", "reverse"),
		Entry("bench", "bench"),
		// How to install completion is not obvious.
		Entry("completion", "completion"),
	)

	DescribeTable("should exit with the documented status",
		func(want int, args func(dir string) []string) {
			dir := GinkgoT().TempDir()
			s := proxylab(args(dir)...)
			Expect(s.ExitCode()).To(Equal(want), "stderr: %s", s.Err.Contents())
		},
		// 0: every expectation holds.
		Entry("run of a passing scenario", exitOK, func(d string) []string { return []string{"run", "--quiet", writeFile(d, "p.yaml", passing)} }),
		// 1: an expectation fails.
		Entry("run of a failing scenario", exitVerdict, func(d string) []string { return []string{"run", "--quiet", writeFile(d, "f.yaml", failing)} }),
		// 2: a bad file is not a failed verdict.
		Entry("run of a file with an unknown key", exitUsage, func(d string) []string { return []string{"run", writeFile(d, "b.yaml", broken)} }),
		Entry("run of a missing file", exitUsage, func(d string) []string { return []string{"run", filepath.Join(d, "nothing.yaml")} }),
		Entry("run without arguments", exitUsage, func(string) []string { return []string{"run"} }),
		Entry("validate of a good file", exitOK, func(d string) []string { return []string{"validate", writeFile(d, "p.yaml", passing)} }),
		Entry("validate of a bad file", exitUsage, func(d string) []string { return []string{"validate", writeFile(d, "b.yaml", broken)} }),
		// 2: flags and commands that do not exist.
		Entry("an unknown flag", exitUsage, func(string) []string { return []string{"run", "--no-such-flag", "x.yaml"} }),
		Entry("an unknown command", exitUsage, func(string) []string { return []string{"frobnicate"} }),
		Entry("explain of something that is neither a drawing nor a file", exitUsage, func(d string) []string {
			return []string{"explain", filepath.Join(d, "sideways")}
		}),
		Entry("explain with a silly request count", exitUsage, func(string) []string { return []string{"explain", "reverse", "--requests", "0"} }),
		Entry("explain of a failing scenario", exitVerdict, func(d string) []string { return []string{"explain", writeFile(d, "f.yaml", failing)} }),
		Entry("completion for an unknown shell", exitUsage, func(string) []string { return []string{"completion", "tcsh"} }),
		// 0: the common cases.
		Entry("explain forward", exitOK, func(string) []string { return []string{"explain", "forward", "--requests", "6"} }),
		Entry("explain reverse under its timed load", exitOK, func(string) []string { return []string{"explain", "reverse", "--timed"} }),
		Entry("completion bash", exitOK, func(string) []string { return []string{"completion", "bash"} }),
		Entry("version", exitOK, func(string) []string { return []string{"version"} }),
	)

	When("explaining a drawing", func() {
		It("should draw the box of the side that owns the proxy, without colour on a pipe", func() {
			s := proxylab("explain", "reverse", "--requests", "9")
			Expect(s.ExitCode()).To(Equal(exitOK))
			out := string(s.Out.Contents())
			Expect(out).To(ContainSubstring("the servers' side owns the proxy"))
			Expect(out).To(ContainSubstring("─ 3 ──▶ server1"))
			Expect(out).To(ContainSubstring("+ X-Forwarded-For: 127.0.2.1"))
			Expect(out).NotTo(ContainSubstring("\x1b["))
		})

		It("should print the explanation as JSON with --json", func() {
			s := proxylab("explain", "forward", "--requests", "3", "--json")
			Expect(s.ExitCode()).To(Equal(exitOK))
			var doc struct {
				Mode     string `json:"mode"`
				Journeys []any  `json:"journeys"`
			}
			Expect(json.Unmarshal(s.Out.Contents(), &doc)).To(Succeed())
			Expect(doc.Mode).To(Equal("forward"))
			Expect(doc.Journeys).To(HaveLen(2))
		})
	})

	It("should print only the verdict table with run --quiet, and results on stdout with --json", func() {
		dir := GinkgoT().TempDir()
		file := writeFile(dir, "p.yaml", passing)
		s := proxylab("run", "--quiet", "--json", file)
		Expect(s.ExitCode()).To(Equal(exitOK))
		var doc struct {
			Results []struct {
				Verdict string `json:"verdict"`
			} `json:"results"`
		}
		Expect(json.Unmarshal(s.Out.Contents(), &doc)).To(Succeed())
		Expect(doc.Results).To(HaveLen(1))
		Expect(doc.Results[0].Verdict).To(Equal("passed"))
		Expect(string(s.Err.Contents())).NotTo(ContainSubstring("✔ ledger.lost"))
	})
})
