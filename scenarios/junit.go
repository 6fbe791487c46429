package scenarios

import (
	"encoding/xml"
	"fmt"
	"io"
)

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name    string      `xml:"name,attr"`
	Tests   int         `xml:"tests,attr"`
	Fails   int         `xml:"failures,attr"`
	Errors  int         `xml:"errors,attr"`
	Skipped int         `xml:"skipped,attr"`
	Time    float64     `xml:"time,attr"`
	Cases   []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes results as JUnit XML: a suite per scenario, a case per expectation.
func WriteJUnit(w io.Writer, results []*Result) error {
	var out junitSuites
	for _, r := range results {
		s := junitSuite{Name: r.Name, Time: r.Elapsed.Seconds()}
		class := "proxylab." + r.Area
		switch r.Verdict {
		case Skipped:
			s.Skipped, s.Tests = 1, 1
			s.Cases = append(s.Cases, junitCase{Name: r.Name, Classname: class, Skipped: &junitMessage{Message: r.Reason}})
		case Broken:
			s.Errors, s.Tests = 1, 1
			s.Cases = append(s.Cases, junitCase{Name: r.Name, Classname: class, Error: &junitMessage{Message: r.Reason}})
		}
		for _, c := range r.Checks {
			jc := junitCase{Name: c.Expr, Classname: class}
			s.Tests++
			if !c.Pass {
				s.Fails++
				jc.Failure = &junitMessage{Message: "expectation failed", Body: fmt.Sprintf("observed %s %s", c.Observed, c.Error)}
			}
			s.Cases = append(s.Cases, jc)
		}
		out.Tests += s.Tests
		out.Fails += s.Fails
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
