package report_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/report"
	"github.com/kapu-dev/kapu/runner"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(p, got, 0o644)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test ./report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s", p, got)
	}
}

// summary is a run with one flow of each outcome.
func summary() runner.Summary {
	a := &flow.Flow{Name: "Bejelentkezés", File: "flows/login.yaml"}
	b := &flow.Flow{Name: "Kizárás / az 5. hibás kód kizár", File: "flows/lockout.yaml"}
	c := &flow.Flow{Name: "Ingadozó", File: "flows/login.yaml"}
	d := &flow.Flow{Name: "Tesztfelület kell", File: "flows/x.yaml"}
	return runner.Summary{
		Results: []*runner.Result{
			{Flow: a, Status: runner.Passed, Attempts: 1, Took: 2 * time.Second, Steps: []runner.StepResult{{Text: `click "Bejelentkezés"`, Status: runner.Passed}}},
			{Flow: b, Status: runner.Failed, Attempts: 2, Took: 3 * time.Second,
				Err:     `flows/lockout.yaml:14:7: expect: alert: want "Túl sok sikertelen próbálkozás. Próbálja újra később.", found "Hibás vagy lejárt kód."`,
				Earlier: []string{`flows/lockout.yaml:14:7: expect: alert: want "A", found "B"`},
				Steps:   []runner.StepResult{{Text: `fill field "6 jegyű kód" with ••••`, Status: runner.Passed}, {Text: `expect alert "…"`, Status: runner.Failed, Err: "want ]]> found"}}},
			{Flow: c, Status: runner.Flaky, Attempts: 2, Took: time.Second, Earlier: []string{"flows/login.yaml:3:3: click: timed out"}},
			{Flow: d, Status: runner.Skipped, Reason: "needs the test API (/__kapu/), which the target does not serve"},
		},
		Passed: 1, Failed: 1, Flaky: 1, Skipped: 1, Took: 6 * time.Second,
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteJUnit(&buf, summary(), time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", buf.Bytes())
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Flaky []struct{} `xml:"flakyFailure"`
				Rerun []struct{} `xml:"rerunFailure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if doc.Tests != 4 || doc.Failures != 1 || doc.Skipped != 1 || len(doc.Suites) != 3 {
		t.Errorf("counts: %+v", doc)
	}
	var flaky, rerun, failure bool
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			flaky = flaky || len(c.Flaky) == 1
			rerun = rerun || len(c.Rerun) == 1
			failure = failure || (c.Failure != nil && strings.Contains(c.Failure.Message, `want "Túl sok`))
		}
	}
	if !flaky || !rerun || !failure {
		t.Errorf("flakyFailure %v, rerunFailure %v, failure with expected vs found %v", flaky, rerun, failure)
	}
}

func TestHTMLSelfContained(t *testing.T) {
	s := summary()
	h := report.NewHTML()
	png := []byte("\x89PNG fake")
	for i, r := range s.Results {
		h.Event(runner.Event{Kind: runner.FlowStart, Flow: r.Flow, Attempt: 1})
		for j, st := range r.Steps {
			h.Event(runner.Event{Kind: runner.StepEnd, Flow: r.Flow, Index: j, Text: st.Text, Status: st.Status, Err: st.Err, Thumb: png,
				Tree:  []runner.AXLine{{Role: "heading", Name: "Bejelentkezés", States: []string{"level 1"}}, {Depth: 1, Role: "textbox", Name: "6 jegyű kód", Focused: true}},
				Focus: `<input> "6 jegyű kód"`})
		}
		_ = i
	}
	dir := t.TempDir()
	p, err := h.Write(dir, s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	page := string(b)
	steps := 0
	for _, r := range s.Results {
		steps += len(r.Steps)
	}
	if n := strings.Count(page, "<img "); n != steps {
		t.Errorf("%d pictures, want one per step (%d)", n, steps)
	}
	// Nothing to fetch: no external stylesheet, script or image.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("external reference %q", m)
	}
	for _, want := range []string{`lang="en"`, "<h1>kapu report</h1>", "textbox “6 jegyű kód” ← focus", "[level 1]", `want &#34;Túl sok`, "Skipped: needs the test API"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
