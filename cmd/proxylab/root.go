package main

import (
	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitVerdict = 1 // a scenario expectation or a check failed
	exitUsage   = 2 // a bad flag, argument or file
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: sprintf(format, a...)}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "proxylab",
		Short: "Build, run, test, benchmark and learn HTTP proxies",
		Long: `proxylab runs a forward proxy and a reverse proxy for real, simulated clients
and servers around them, fault-injecting links, an honest load generator, and
declarative scenarios that play it all and give a verdict.

Exit status of every command: 0 ok, 1 a verdict or check failed, 2 a bad
flag, argument or file.`,
		Example: `  # the two drawings, live, with one request followed hop by hop
  proxylab explain forward
  proxylab explain reverse

  # play the demo scenarios, or the lessons, and get a verdict
  proxylab run scenarios/demo --report demo-report
  proxylab run scenarios/library/lessons

  # a standalone reverse proxy in front of two local servers
  proxylab serve --listen 127.0.0.1:8001 &
  proxylab serve --listen 127.0.0.1:8002 &
  proxylab proxy reverse --listen 127.0.0.1:8080 --upstream http://127.0.0.1:8001 --upstream http://127.0.0.1:8002`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, msg: err.Error() + "\n" + c.UsageString()}
	})
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}
