package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// junitCases reads a JUnit file as "name status" lines, sorted.
func junitCases(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string     `xml:"name,attr"`
				Failure *struct{}  `xml:"failure"`
				Skipped *struct{}  `xml:"skipped"`
				Flaky   []struct{} `xml:"flakyFailure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			st := "passed"
			switch {
			case c.Failure != nil:
				st = "failed"
			case c.Skipped != nil:
				st = "skipped"
			case len(c.Flaky) > 0:
				st = "flaky"
			}
			out = append(out, c.Name+" "+st)
		}
	}
	slices.Sort(out)
	return out
}

var mergeFlows = []string{"flows/start-page.yaml", "flows/not-enrolled.yaml", "flows/wrong-password.yaml", "flows/secrets.yaml"}

// Three shards' results merged equal one unsharded run; results of
// another suite are refused; --last-failed then runs exactly the failed.
func TestMergeShards(t *testing.T) {
	needChromium(t)
	t.Parallel()
	dir := t.TempDir()
	run := func(name string, extra ...string) {
		args := append([]string{"run", "--break", "distinct-alerts", "--workers", "2", "--artifacts", filepath.Join(dir, "art-"+name),
			"--results", filepath.Join(dir, name), "--junit", filepath.Join(dir, name+".xml")}, extra...)
		if _, stderr, code := kapu(t, nil, append(args, mergeFlows...)...); code != 1 && code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, code, stderr)
		}
	}
	run("all")
	for _, s := range []string{"1", "2", "3"} {
		run("shard"+s, "--shard", s+"/3")
	}
	stdout, stderr, code := kapu(t, nil, "merge", "--junit", filepath.Join(dir, "merged.xml"), "--report", filepath.Join(dir, "report"),
		filepath.Join(dir, "shard1"), filepath.Join(dir, "shard2"), filepath.Join(dir, "shard3"))
	if code != 1 || !strings.Contains(stdout, "7 flows: 5 passed, 2 failed, 0 flaky, 0 skipped") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if all, merged := junitCases(t, filepath.Join(dir, "all.xml")), junitCases(t, filepath.Join(dir, "merged.xml")); !slices.Equal(all, merged) {
		t.Errorf("merged shards:\n%s\nunsharded:\n%s", strings.Join(merged, "\n"), strings.Join(all, "\n"))
	}
	if _, err := os.Stat(filepath.Join(dir, "report", "index.html")); err != nil {
		t.Error(err)
	}
	// A shard of another suite is refused.
	run("other", "--grep", "titok", "--shard", "1/2")
	if _, stderr, code := kapu(t, nil, "merge", "--junit", filepath.Join(dir, "x.xml"), filepath.Join(dir, "shard1"), filepath.Join(dir, "other")); code != exitUsage || !strings.Contains(stderr, "ran different suites") {
		t.Errorf("merging another suite: exit %d, %s", code, stderr)
	}
	if _, stderr, code := kapu(t, nil, "merge", "--junit", filepath.Join(dir, "x.xml"), dir); code != exitUsage || !strings.Contains(stderr, "no run.json") {
		t.Errorf("merging a directory without results: exit %d, %s", code, stderr)
	}
	// --last-failed: exactly the two failed cases run.
	stdout, _, _ = kapu(t, nil, append([]string{"run", "--last-failed", "--results", filepath.Join(dir, "all"), "--break", "distinct-alerts"}, mergeFlows...)...)
	if !strings.Contains(stdout, "kapu: 2 flows against") || !strings.Contains(stdout, "0 passed, 2 failed") {
		t.Errorf("--last-failed:\n%s", stdout)
	}
}

// With nothing recorded, --last-failed says so and runs nothing.
func TestLastFailedNothing(t *testing.T) {
	t.Parallel()
	stdout, _, code := kapu(t, nil, "run", "--last-failed", "--artifacts", t.TempDir(), "flows/start-page.yaml")
	if code != 0 || !strings.Contains(stdout, "no earlier run recorded") || strings.Contains(stdout, "flows against") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
}

// On GitHub Actions a failed step is an ::error annotation on its line;
// elsewhere there is none.
func TestGitHubAnnotations(t *testing.T) {
	needChromium(t)
	t.Parallel()
	args := []string{"run", "--break", "distinct-alerts", "--grep", "ugyanaz az üzenet", "--artifacts", t.TempDir(), "flows/wrong-password.yaml"}
	stdout, _, code := kapu(t, []string{"GITHUB_ACTIONS=true"}, args...)
	if code != 1 || !regexp.MustCompile(`(?m)^::error file=flows/wrong-password\.yaml,line=\d+,col=\d+,title=kapu%3A Hibás felhasználónév vagy jelszó / .*::.*expect`).MatchString(stdout) {
		t.Errorf("exit %d, no annotation:\n%s", code, stdout)
	}
	stdout, _, _ = kapu(t, []string{"GITHUB_ACTIONS="}, args...)
	if strings.Contains(stdout, "::error") {
		t.Errorf("an annotation outside GitHub Actions:\n%s", stdout)
	}
}

// The report itself, in Chromium, by keyboard only: filter and search
// work and it passes axe-core (a kapu flow drives it).
func TestReportInChromium(t *testing.T) {
	needChromium(t)
	t.Parallel()
	dir := t.TempDir()
	rep := filepath.Join(dir, "report")
	_, stderr, code := kapu(t, nil, "run", "--break", "distinct-alerts", "--grep", "kezdő|ugyanaz az üzenet$|jelszó és hibás felhasználónév", "--artifacts", filepath.Join(dir, "art"),
		"--report", rep, "flows/start-page.yaml", "flows/wrong-password.yaml")
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	abs, _ := filepath.Abs(filepath.Join(rep, "index.html"))
	stdout, stderr, code := kapu(t, []string{"REPORT_URL=file://" + abs}, "run", "--artifacts", filepath.Join(dir, "art2"), "cmd/kapu/testdata/report-ui.yaml")
	if code != 0 {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
