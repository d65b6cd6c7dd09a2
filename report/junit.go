package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/runner"
)

// JUnit XML as CI systems read it: a testsuite per flow file, a testcase
// per flow or case; flaky and rerun failures as Maven Surefire writes them.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name       string         `xml:"name,attr"`
	Classname  string         `xml:"classname,attr"`
	File       string         `xml:"file,attr"`
	Time       string         `xml:"time,attr"`
	Properties *junitProps    `xml:"properties,omitempty"`
	Failure    *junitProblem  `xml:"failure"`
	Skipped    *junitSkip     `xml:"skipped"`
	Flaky      []junitProblem `xml:"flakyFailure"`
	Rerun      []junitProblem `xml:"rerunFailure"`
	SystemOut  *junitText     `xml:"system-out,omitempty"`
}

type junitProps struct {
	P []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitSkip struct {
	Message string `xml:"message,attr"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes results as JUnit XML: a testsuite per flow file, in
// the order the files come in the suite.
func WriteJUnit(w io.Writer, res *Results) error {
	out := junitSuites{Name: "kapu", Time: secs(time.Duration(res.Took))}
	byFile := map[string]*junitSuite{}
	var files []string
	for _, f := range res.Flows {
		su, ok := byFile[f.File]
		if !ok {
			su = &junitSuite{Name: f.File, Timestamp: res.Started.UTC().Format("2006-01-02T15:04:05")}
			byFile[f.File] = su
			files = append(files, f.File)
		}
		su.Cases = append(su.Cases, junitCaseOf(f))
		su.Tests++
		out.Tests++
		su.Time = addSecs(su.Time, time.Duration(f.Took))
		switch f.Status {
		case runner.Failed:
			su.Failures++
			out.Failures++
		case runner.Skipped:
			su.Skipped++
			out.Skipped++
		}
	}
	slices.Sort(files)
	for _, f := range files {
		out.Suites = append(out.Suites, *byFile[f])
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

func addSecs(s string, d time.Duration) string {
	var t float64
	fmt.Sscanf(s, "%f", &t)
	return secs(time.Duration(t*float64(time.Second)) + d)
}

// junitCaseOf is one flow as a testcase: the last attempt's steps as its
// output, earlier attempts' failures as reruns (failed) or flaky failures.
func junitCaseOf(f *FlowResult) junitCase {
	c := junitCase{
		Name: f.Name, File: f.File, Time: secs(time.Duration(f.Took)),
		Classname: strings.TrimSuffix(strings.ReplaceAll(f.File, "/", "."), ".yaml"),
	}
	var steps []string
	last := f.last()
	if last != nil {
		for _, st := range last.Steps {
			line := fmt.Sprintf("%-7s %s", st.Status, st.Text)
			if st.Err != "" {
				line += "\n        " + st.Err
			}
			steps = append(steps, line)
		}
	}
	if len(steps) > 0 {
		c.SystemOut = &junitText{strings.Join(steps, "\n")}
	}
	var earlier []junitProblem
	for _, e := range f.earlier() {
		earlier = append(earlier, junitProblem{Message: firstLine(e), Type: "StepFailed", Body: e})
	}
	switch f.Status {
	case runner.Failed:
		msg := ""
		if last != nil {
			msg = last.Err
		}
		c.Failure = &junitProblem{Message: firstLine(msg), Type: "StepFailed", Body: msg}
		c.Rerun = earlier
	case runner.Skipped:
		c.Skipped = &junitSkip{Message: f.Reason}
	case runner.Flaky:
		c.Flaky = earlier
		c.Properties = &junitProps{[]junitProp{{"flaky", "true"}, {"attempts", fmt.Sprint(len(f.Attempts))}}}
	}
	return c
}

// WriteJUnitFile writes results as JUnit XML to path, making its
// directory.
func WriteJUnitFile(path string, res *Results) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteJUnit(w, res); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
