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

// WriteJUnit writes the summary as JUnit XML.
func WriteJUnit(w io.Writer, s runner.Summary, started time.Time) error {
	out := junitSuites{Name: "kapu", Time: secs(s.Took)}
	byFile := map[string]*junitSuite{}
	var files []string
	for _, r := range s.Results {
		f := r.Flow.File
		su, ok := byFile[f]
		if !ok {
			su = &junitSuite{Name: filepath.ToSlash(f), Timestamp: started.UTC().Format("2006-01-02T15:04:05")}
			byFile[f] = su
			files = append(files, f)
		}
		c := junitCase{
			Name: r.Flow.Name, File: filepath.ToSlash(f), Time: secs(r.Took),
			Classname: strings.TrimSuffix(strings.ReplaceAll(filepath.ToSlash(f), "/", "."), ".yaml"),
		}
		var steps []string
		for _, st := range r.Steps {
			line := fmt.Sprintf("%-7s %s", st.Status, st.Text)
			if st.Err != "" {
				line += "\n        " + st.Err
			}
			steps = append(steps, line)
		}
		if len(steps) > 0 {
			c.SystemOut = &junitText{strings.Join(steps, "\n")}
		}
		su.Tests++
		out.Tests++
		switch r.Status {
		case runner.Failed:
			su.Failures++
			out.Failures++
			c.Failure = &junitProblem{Message: firstLine(r.Err), Type: "StepFailed", Body: r.Err}
			for _, e := range r.Earlier {
				c.Rerun = append(c.Rerun, junitProblem{Message: firstLine(e), Type: "StepFailed", Body: e})
			}
		case runner.Skipped:
			su.Skipped++
			out.Skipped++
			c.Skipped = &junitSkip{Message: r.Reason}
		case runner.Flaky:
			for _, e := range r.Earlier {
				c.Flaky = append(c.Flaky, junitProblem{Message: firstLine(e), Type: "StepFailed", Body: e})
			}
			c.Properties = &junitProps{[]junitProp{{"flaky", "true"}, {"attempts", fmt.Sprint(r.Attempts)}}}
		}
		su.Cases = append(su.Cases, c)
	}
	slices.Sort(files)
	for _, f := range files {
		su := byFile[f]
		var t time.Duration
		for _, r := range s.Results {
			if r.Flow.File == f {
				t += r.Took
			}
		}
		su.Time = secs(t)
		out.Suites = append(out.Suites, *su)
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

// WriteJUnitFile writes the summary as JUnit XML to path, making its
// directory.
func WriteJUnitFile(path string, s runner.Summary, started time.Time) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteJUnit(w, s, started); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
