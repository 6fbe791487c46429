package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/scenarios"
)

// validation is one file's outcome in validate --json.
type validation struct {
	File     string              `json:"file"`
	Name     string              `json:"name,omitempty"`
	OK       bool                `json:"ok"`
	Problems []validationProblem `json:"problems,omitempty"`
}

type validationProblem struct {
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func newValidateCommand() *cobra.Command {
	var jsonOut bool
	c := &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check scenario files without running them",
		Long: `Check scenario files: unknown keys, bad durations or rates, events naming
unknown nodes or falling outside the run, expectations that do not compile.
Every problem is printed as file:line:col: message. Exit status 2 when any file
has a problem, 0 otherwise.`,
		Example: `  proxylab validate scenarios/library
  proxylab validate my-scenario.yaml
  proxylab validate --json scenarios/library > problems.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			files, err := scenarios.Files(args...)
			if err != nil {
				return usageErrorf("%v", err)
			}
			var results []validation
			bad := false
			for _, f := range files {
				v := validation{File: f, OK: true}
				sc, err := scenarios.Load(f)
				if err == nil {
					v.Name = sc.Name
				} else {
					bad, v.OK = true, false
					var ps scenarios.Problems
					if errors.As(err, &ps) {
						for _, p := range ps {
							v.Problems = append(v.Problems, validationProblem{Line: p.Pos.Line, Col: p.Pos.Col, Message: p.Msg})
						}
					} else {
						v.Problems = append(v.Problems, validationProblem{Message: err.Error()})
					}
					if !jsonOut {
						fmt.Fprintln(c.ErrOrStderr(), err)
					}
				}
				if v.OK && !jsonOut {
					fmt.Fprintf(c.OutOrStdout(), "ok   %s (%s)\n", f, v.Name)
				}
				results = append(results, v)
			}
			if jsonOut {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(results); err != nil {
					return err
				}
			}
			if bad {
				return &exitError{code: exitUsage}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&jsonOut, "json", false, "print every file's problems as JSON on stdout")
	return c
}
