package scenarios

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// durationLiteral matches a bare duration such as 50ms or 2.5s.
var durationLiteral = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)\b`)

// rewrite turns bare duration literals outside string literals into duration("…").
func rewrite(src string) string {
	var b strings.Builder
	inStr := rune(0)
	start := 0
	flush := func(end int) {
		b.WriteString(durationLiteral.ReplaceAllStringFunc(src[start:end], func(m string) string {
			return `duration("` + m + `")`
		}))
	}
	for i, r := range src {
		switch {
		case inStr != 0:
			if r == inStr && (i == 0 || src[i-1] != '\\') {
				b.WriteString(src[start : i+1])
				start = i + 1
				inStr = 0
			}
		case r == '"' || r == '\'' || r == '`':
			flush(i)
			start = i
			inStr = r
		}
	}
	if inStr != 0 {
		b.WriteString(src[start:])
	} else {
		flush(len(src))
	}
	return b.String()
}

// compiled is one expectation ready to run.
type compiled struct {
	src      string
	program  *vm.Program
	observed *vm.Program // the left side of a comparison, to show what was seen
}

var comparisons = map[string]bool{"<": true, "<=": true, ">": true, ">=": true, "==": true, "!=": true}

func compileExpectation(src string) (*compiled, error) {
	code := rewrite(src)
	p, err := expr.Compile(code, expr.Env(Env{}), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("expectation %q does not compile: %s", src, firstLine(err.Error()))
	}
	c := &compiled{src: src, program: p}
	if tree, err := parser.Parse(code); err == nil {
		if bin, ok := tree.Node.(*ast.BinaryNode); ok && comparisons[bin.Operator] {
			if op, err := expr.Compile(bin.Left.String(), expr.Env(Env{})); err == nil {
				c.observed = op
			}
		}
	}
	return c, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func validateExpect(sc *Scenario, c *collector) {
	if len(sc.Expect) == 0 {
		c.add("expect", "no expectations; add at least one, e.g. expect: [ledger.lost == 0, success_rate >= 0.99]")
	}
	for i, src := range sc.Expect {
		if _, err := compileExpectation(src); err != nil {
			c.add(fmt.Sprintf("expect[%d]", i), "%v; see docs/scenarios.md for the names an expectation can use", err)
		}
	}
}

// Check is one evaluated expectation.
type Check struct {
	Expr     string `json:"expr"`
	Pass     bool   `json:"pass"`
	Observed string `json:"observed,omitempty"`
	Error    string `json:"error,omitempty"`
}

func evaluate(srcs []string, env Env) []Check {
	out := make([]Check, 0, len(srcs))
	for _, src := range srcs {
		ch := Check{Expr: src}
		c, err := compileExpectation(src)
		if err != nil {
			ch.Error = err.Error()
			out = append(out, ch)
			continue
		}
		v, err := expr.Run(c.program, env)
		if err != nil {
			ch.Error = firstLine(err.Error())
		} else {
			ch.Pass, _ = v.(bool)
		}
		if c.observed != nil {
			if ov, err := expr.Run(c.observed, env); err == nil {
				ch.Observed = formatValue(ov)
			}
		}
		out = append(out, ch)
	}
	return out
}

func formatValue(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return x.Round(10 * time.Microsecond).String()
	case float64:
		return fmt.Sprintf("%.4g", x)
	default:
		return fmt.Sprint(v)
	}
}
