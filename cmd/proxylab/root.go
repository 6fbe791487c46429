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
declarative scenarios that play it all and give a verdict.`,
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
