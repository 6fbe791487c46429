// Command proxylab runs the proxies, the simulated world, the load generator
// and the scenario engine from one binary.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	root := newRootCommand()
	err := root.Execute()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "proxylab:", ee.msg)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "proxylab:", err)
	os.Exit(exitUsage)
}
