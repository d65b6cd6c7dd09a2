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

// record plays a summary's run as events to a Recorder: each flow's
// earlier attempts failed, the last one's steps with a picture and tree.
func record(s runner.Summary, started time.Time) *report.Results {
	var suite []*flow.Flow
	for _, r := range s.Results {
		suite = append(suite, r.Flow)
	}
	rec := report.NewRecorder(suite, "", started)
	png := []byte("\x89PNG fake")
	for _, r := range s.Results {
		if r.Status == runner.Skipped {
			continue
		}
		for a, e := range r.Earlier {
			rec.Event(runner.Event{Kind: runner.FlowStart, Flow: r.Flow, Attempt: a + 1})
			rec.Event(runner.Event{Kind: runner.FlowEnd, Flow: r.Flow, Result: &runner.Result{Flow: r.Flow, Status: runner.Failed, Err: e}})
		}
		rec.Event(runner.Event{Kind: runner.FlowStart, Flow: r.Flow, Attempt: len(r.Earlier) + 1})
		for j, st := range r.Steps {
			if st.Status == runner.NotRun {
				continue
			}
			rec.Event(runner.Event{Kind: runner.StepEnd, Flow: r.Flow, Index: j, Text: st.Text, Status: st.Status, Err: st.Err, Thumb: append(png, byte(j)),
				Tree:  []runner.AXLine{{Role: "heading", Name: "Bejelentkezés", States: []string{"level 1"}}, {Depth: 1, Role: "textbox", Name: "6 jegyű kód", Focused: true}},
				Focus: `<input> "6 jegyű kód"`})
		}
		rec.Event(runner.Event{Kind: runner.FlowEnd, Flow: r.Flow, Result: r})
	}
	return rec.Results(s)
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteJUnit(&buf, record(summary(), time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))); err != nil {
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

func TestHTML(t *testing.T) {
	s := summary()
	dir := t.TempDir()
	p, err := report.WriteHTML(dir, record(s, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	page := string(b)
	// Every step's picture, from img/ beside the page, in the filmstrip
	// and in the step.
	imgs := regexp.MustCompile(`src="img/([0-9a-f]+\.webp)"`).FindAllStringSubmatch(page, -1)
	if len(imgs) != 2*3 {
		t.Errorf("%d pictures, want each of the 3 steps twice (filmstrip and step)", len(imgs))
	}
	for _, m := range imgs {
		if _, err := os.Stat(filepath.Join(dir, "img", m[1])); err != nil {
			t.Errorf("picture %s: %v", m[1], err)
		}
	}
	// Nothing to fetch from the network.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("external reference %q", m)
	}
	for _, want := range []string{`lang="en"`, "<h1>kapu report</h1>", "textbox “6 jegyű kód” ← focus", "[level 1]", `want &#34;Túl sok`, "Skipped: needs the test API",
		"Accessibility tree: as after step 1.", `type="search"`, `aria-label="Step durations"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Failed first, then flaky, passed, skipped; the failing flow and its
	// failed step open.
	order := regexp.MustCompile(`data-status="(\w+)"`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != "failed flaky passed skipped" {
		t.Errorf("flows in the order %v", got)
	}
	if !regexp.MustCompile(`<details id="f1-s2" open>`).MatchString(page) {
		t.Error("the failed step is not open")
	}
}
