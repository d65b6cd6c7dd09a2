package main

import (
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startMock runs kapu mockidp as its own process, seeded with the pool,
// its clock running and without the test API: a staging deployment.
func startMock(t testing.TB, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, kapuBin, append([]string{"mockidp", "--quiet", "--addr", addr, "--users", "testdata/pool.json"}, args...)...)
	cmd.Dir = "../.."
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	base := "http://" + addr
	if !waitFor(10*time.Second, func() bool { return get(base+"/") == nil }) {
		t.Fatal("kapu mockidp did not start")
	}
	return base
}

// stagingFlows run on the wall clock without waiting for a boundary: the
// short version of a staging run (make staging runs the whole suite).
var stagingFlows = []string{"flows/enroll.yaml", "flows/not-enrolled.yaml", "flows/qr-key.yaml", "flows/secrets.yaml", "flows/wrong-password.yaml", "flows/start-page.yaml"}

var summaryLine = regexp.MustCompile(`(\d+) passed, (\d+) failed, (\d+) skipped`)

// TestStaging runs flows against a target without the test API, on an
// account pool: they pass, and pass again right after (every account was
// left as it was found: the enrollments were ended by their teardown);
// the same run against a mock broken in one requirement fails.
func TestStaging(t *testing.T) {
	needChromium(t)
	t.Parallel()
	base := startMock(t)
	args := append([]string{"run", "--base-url", base, "--users", "testdata/pool.json", "--workers", "2"}, stagingFlows...)
	for run := 1; run <= 2; run++ {
		stdout, stderr, code := kapu(t, nil, args...)
		m := summaryLine.FindStringSubmatch(stdout)
		if code != 0 || m == nil || m[1] != "9" || m[2] != "0" {
			t.Fatalf("run %d: exit %d, %v\n%s\n%s", run, code, m, stdout, stderr)
		}
		if !strings.Contains(stdout, "account pool testdata/pool.json: 8 accounts (2 enrolled)") || !strings.Contains(stdout, "after: click \"Megszüntetés\"") {
			t.Errorf("run %d: no pool line or no teardown:\n%s", run, stdout)
		}
	}
	broken := startMock(t, "--break", "distinct-alerts")
	stdout, _, code := kapu(t, nil, append([]string{"run", "--base-url", broken, "--users", "testdata/pool.json", "--workers", "2"}, stagingFlows...)...)
	if code != 1 || !strings.Contains(stdout, "Nincs ilyen felhasználó.") {
		t.Errorf("against --break distinct-alerts: exit %d\n%s", code, stdout)
	}
}

// get fetches u and drops the answer: nil once something answers there.
func get(u string) error {
	res, err := http.Get(u)
	if err == nil {
		res.Body.Close()
	}
	return err
}
