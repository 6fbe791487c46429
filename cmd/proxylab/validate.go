package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/scenarios"
)

func newValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check scenario files without running them",
		Long: `Check scenario files: unknown keys, bad durations or rates, events naming
unknown nodes or falling outside the run, expectations that do not compile.
Every problem is printed as file:line:col: message. Exit status 2 when any file
has a problem, 0 otherwise.`,
		Example: `  proxylab validate scenarios/library
  proxylab validate my-scenario.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			list, err := scenarios.LoadAll(args...)
			for _, sc := range list {
				fmt.Fprintf(c.OutOrStdout(), "ok   %s (%s)\n", sc.File, sc.Name)
			}
			if err != nil {
				fmt.Fprintln(c.ErrOrStderr(), err)
				return &exitError{code: exitUsage}
			}
			return nil
		},
	}
}
