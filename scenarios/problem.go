package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a scenario file.
type Pos struct {
	Line, Col int
}

// Problem is one thing wrong with a scenario file, at a place in it.
type Problem struct {
	File string
	Pos  Pos
	Msg  string
}

// Error formats the problem as file:line:col: message.
func (p Problem) Error() string {
	if p.Pos.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Col, p.Msg)
}

// Problems is every problem found in a file, in file order.
type Problems []Problem

// Error lists every problem, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Pos.Line != ps[j].Pos.Line {
			return ps[i].Pos.Line < ps[j].Pos.Line
		}
		return ps[i].Pos.Col < ps[j].Pos.Col
	})
	return ps
}

// positions maps a path in the file ("events[2].crash") to where it is.
type positions map[string]Pos

// at returns the position of path, or of its nearest ancestor that has one.
func (p positions) at(path string) Pos {
	for path != "" {
		if pos, ok := p[path]; ok {
			return pos
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return p[""]
}

// collector gathers problems of one file.
type collector struct {
	file string
	pos  positions
	list Problems
	// badValues counts values that do not parse: decoding cannot go on after them.
	badValues int
}

func (c *collector) add(path, format string, a ...any) {
	c.list = append(c.list, Problem{File: c.file, Pos: c.pos.at(path), Msg: fmt.Sprintf(format, a...)})
}

func (c *collector) addAt(pos Pos, format string, a ...any) {
	c.list = append(c.list, Problem{File: c.file, Pos: pos, Msg: fmt.Sprintf(format, a...)})
}

func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	return c.list.sorted()
}

// closest returns the known name nearest to s (edit distance ≤ 2), or "".
func closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
