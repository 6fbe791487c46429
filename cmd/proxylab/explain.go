package main

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/scenarios"
)

type explainFlags struct {
	timed    bool
	requests int
	seed     int64
	jsonOut  bool
}

func newExplainCommand() *cobra.Command {
	var f explainFlags
	c := &cobra.Command{
		Use:   "explain forward|reverse|FILE",
		Short: "Draw a proxy topology, run live traffic through it and follow one request hop by hop",
		Long: `Teach what the two drawings mean with live traffic on loopback.

  forward  cli1..cli3 know the proxy and name the server in every request;
           the box is around the clients' side: it knows the proxy.
  reverse  cli1..cli3 know only the proxy, which owns server1..server3;
           the box is around the servers' side: it owns the proxy.

For forward and reverse, explain starts a built-in world, sends --requests
requests through it one after another and writes on every edge how many
crossed it. Then it sends requests by hand and shows each journey: the exact
head the client wrote, the head the server received (absolute-form turned
into origin-form, Via and X-Forwarded-For added, hop-by-hop headers and
Proxy-Authorization removed, each change marked + − ~ and explained) and the
response on its way back. The forward view also opens a CONNECT tunnel and
shows that the proxy passes its bytes untouched.

With --timed, the built-in world plays its timed load instead (2 s at 50
requests a second, open loop) and the counts vary a little from run to run.

With a scenario FILE, explain plays it as "proxylab run" does and draws the
counts of that run with the journey of its first request.

Exit status: 0 when the view was shown (and a played scenario passed),
1 when a played scenario failed, 2 for a bad argument or file.`,
		Example: `  # the forward drawing, live
  proxylab explain forward

  # the reverse drawing with 90 requests
  proxylab explain reverse --requests 90

  # the forward drawing under 2 s of open-loop load
  proxylab explain forward --timed

  # a lesson's scenario, drawn with the counts of its run
  proxylab explain scenarios/library/lessons/01-forward-vs-reverse.yaml

  # the same view as JSON
  proxylab explain reverse --json`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			// The two drawings, and files: a scenario is explained too.
			return []string{"forward\tthe clients' side knows the proxy", "reverse\tthe servers' side owns the proxy"}, cobra.ShellCompDirectiveDefault
		},
		RunE: func(c *cobra.Command, args []string) error { return runExplain(c, args[0], f) },
	}
	fl := c.Flags()
	fl.BoolVar(&f.timed, "timed", false, "play the built-in world's timed load (2s at 50/s) instead of --requests in sequence")
	fl.IntVar(&f.requests, "requests", scenarios.DefaultExplainRequests, "requests to send one after another through a built-in world (`N`)")
	fl.Int64Var(&f.seed, "seed", -1, "override the scenario's seed (default: the seed in the file)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the explanation as JSON")
	return c
}

func runExplain(c *cobra.Command, what string, f explainFlags) error {
	if f.requests < 1 || f.requests > 10000 {
		return usageErrorf("--requests %d: want a count between 1 and 10000", f.requests)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var seed *uint64
	if f.seed >= 0 {
		s := uint64(f.seed)
		seed = &s
	}
	var ex *scenarios.Explanation
	switch what {
	case scenarios.ModeForward, scenarios.ModeReverse:
		sc, err := scenarios.ExplainScenario(what)
		if err != nil {
			return &exitError{code: exitVerdict, msg: err.Error()}
		}
		if f.timed {
			ex, err = scenarios.ExplainRun(ctx, sc, scenarios.Options{Seed: seed, Trace: 1})
		} else {
			ex, err = scenarios.Explain(ctx, sc, scenarios.ExplainOptions{Requests: f.requests, Seed: seed})
		}
		if err != nil {
			return &exitError{code: exitVerdict, msg: err.Error()}
		}
	default:
		sc, err := scenarios.Load(what)
		if err != nil {
			return usageErrorf("explain %s: want forward, reverse or a scenario file: %v", what, err)
		}
		ex, err = scenarios.ExplainRun(ctx, sc, scenarios.Options{Seed: seed, Trace: 1})
		if err != nil {
			return &exitError{code: exitVerdict, msg: err.Error()}
		}
	}
	out := c.OutOrStdout()
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ex); err != nil {
			return err
		}
	} else if err := ex.WriteText(out, scenarios.TextStyle{Color: useColor(out)}); err != nil {
		return err
	}
	if ex.Result != nil && !ex.Result.OK() {
		return &exitError{code: exitVerdict}
	}
	return nil
}
