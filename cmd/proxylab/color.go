package main

import (
	"io"
	"os"
)

// useColor reports whether output to w may be coloured: only on a terminal,
// and never when NO_COLOR is set (https://no-color.org) or TERM is dumb.
func useColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}
