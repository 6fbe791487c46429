package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// subcommands is the one registry of proxylab's commands; each lives in its own file.
var subcommands = []func() *cobra.Command{
	newVersionCommand,
	newLoadCommand,
	newServeCommand,
	newProxyCommand,
	newRunCommand,
	newValidateCommand,
	newExplainCommand,
	newBenchCommand,
	newCompletionCommand,
	newConformanceCommand,
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
