package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/internal/kaputest"
	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/runner"
)

var matrix = flag.Bool("matrix", false, "run the whole suite against every fault and print the table (make mutants)")

// catchers names, for each fault of the mock, the flow files of the
// conformance suite that must fail against it. Every fault has one.
var catchers = map[string][]string{
	"skew-0":               {"flows/window.yaml"},
	"skew-2":               {"flows/window.yaml"},
	"replay":               {"flows/replay.yaml"},
	"replay-earlier":       {"flows/replay.yaml"},
	"enroll-code-reusable": {"flows/replay.yaml"},
	"no-lockout":           {"flows/lockout.yaml"},
	"lockout-after-6":      {"flows/lockout.yaml"},
	"lockout-after-4":      {"flows/lockout.yaml"},
	"short-lock":           {"flows/lockout.yaml"},
	"long-lock":            {"flows/lockout.yaml"},
	"locked-accepts-right": {"flows/lockout.yaml"},
	"recovery-not-counted": {"flows/lockout.yaml"},
	"no-checkbox":          {"flows/checkbox.yaml"},
	"active-before-finish": {"flows/checkbox.yaml"},
	"secret-changes":       {"flows/secrets.yaml"},
	"same-secret":          {"flows/secrets.yaml"},
	"enroll-no-password":   {"flows/wrong-password.yaml"},
	"distinct-alerts":      {"flows/wrong-password.yaml"},
	"revoke-keeps-secret":  {"flows/torlokod.yaml"},
	"recovery-reusable":    {"flows/torlokod.yaml"},
	"reenroll-same-secret": {"flows/torlokod.yaml"},
	"unenrolled-login":     {"flows/not-enrolled.yaml"},
	"qr-differs":           {"flows/qr-key.yaml"},
	"key-differs":          {"flows/qr-key.yaml"},
	"raw-plus":             {"flows/qr-key.yaml"},
	"uri-sha256":           {"flows/qr-key.yaml"},
	"no-disclosure":        {"flows/start-page.yaml"},
	"no-keyboard":          {"flows/keyboard.yaml"},
	"no-name":              {"flows/login.yaml"},
	"dap-reusable":         {"flows/dap.yaml"},
	"dap-no-expiry":        {"flows/dap.yaml"},
	"dap-approve-on-get":   {"flows/dap.yaml"},
}

func TestEveryFaultHasCatchers(t *testing.T) {
	t.Parallel()
	for _, f := range mockidp.FaultNames() {
		if len(catchers[f]) == 0 || catchAt[f] == "" {
			t.Errorf("fault %q: no flow named to catch it, or no step", f)
		}
	}
	for f := range catchers {
		if !slices.Contains(mockidp.FaultNames(), f) {
			t.Errorf("catchers names unknown fault %q", f)
		}
	}
}

// TestFaultsCaught runs, for each fault, the flows that must catch it
// against the mock broken that way, in this process on the test binary's
// one Chromium: a named catching flow must fail, and on the step that
// shows the fault (catchAt). The runs mostly wait (a failing step waits
// for its timeout), so several go at once.
func TestFaultsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fault matrix runs the catching flows ~30 times")
	}
	needChromium(t)
	if *matrix {
		t.Skip("-matrix: see TestFaultMatrix")
	}
	b := kaputest.Browser(t)
	var mu sync.Mutex
	failures, errs := map[string][]string{}, map[string]error{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, *faultRuns)
	for f := range catchers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			failed, err := catch(b, f)
			mu.Lock()
			failures[f], errs[f] = failed, err
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, f := range slices.Sorted(maps.Keys(catchers)) {
		t.Run(f, func(t *testing.T) {
			failed := failures[f]
			switch {
			case errs[f] != nil:
				t.Fatal(errs[f])
			case len(failed) == 0:
				t.Fatalf("--break %s: every catching flow passed", f)
			case !slices.ContainsFunc(failed, func(e string) bool { return strings.HasPrefix(e, catchAt[f]+":") }):
				t.Errorf("--break %s: no flow failed at %s; failures:\n%s", f, catchAt[f], strings.Join(failed, "\n"))
			}
		})
	}
}

var (
	faultRuns    = flag.Int("fault-runs", 16, "TestFaultsCaught: fault runs at once")
	faultWorkers = flag.Int("fault-workers", 2, "TestFaultsCaught: workers of each fault run")
)

// catch runs the catching flows of fault f against a mock broken that way
// and returns the errors of the flows that failed, paths from the checkout.
func catch(b *browser.Browser, f string) ([]string, error) {
	faults, err := mockidp.ParseFaults(f)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, p := range catchers[f] {
		paths = append(paths, filepath.Join("../..", p))
	}
	all, err := flow.Load(paths...)
	if err != nil {
		return nil, err
	}
	// Only the flows (cases) that hold the catching step: the whole files
	// run in make mutants.
	var flows []*flow.Flow
	for _, fl := range all {
		if slices.ContainsFunc(fl.Steps, func(s flow.Step) bool {
			p := s.Pos()
			return strings.TrimPrefix(filepath.ToSlash(p.File), "../../")+":"+strconv.Itoa(p.Line) == catchAt[f]
		}) {
			flows = append(flows, fl)
		}
	}
	if len(flows) == 0 {
		return nil, fmt.Errorf("no flow of %v has a step at %s", catchers[f], catchAt[f])
	}
	tg := &targets{bundled: true, host: "127.0.0.1", opts: mockidp.Options{Skew: 1, TestAPI: true, Faults: faults, Host: "127.0.0.1"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sum, err := runner.Run(ctx, flows, tg, runner.Options{Use: b, Workers: *faultWorkers, AxePath: "../../node_modules/axe-core/axe.min.js"}, nil)
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, r := range sum.Results {
		if r.Status == runner.Failed {
			failed = append(failed, strings.TrimPrefix(filepath.ToSlash(r.Err), "../../"))
		}
	}
	return failed, nil
}

// catchAt is, for each fault, the file:line of the step that must fail:
// where the suite shows that requirement.
var catchAt = map[string]string{
	"active-before-finish": "flows/checkbox.yaml:26",
	"dap-approve-on-get":   "flows/dap.yaml:36",
	"dap-no-expiry":        "flows/dap.yaml:58",
	"dap-reusable":         "flows/dap.yaml:52",
	"distinct-alerts":      "flows/wrong-password.yaml:21",
	"enroll-code-reusable": "flows/replay.yaml:48",
	"enroll-no-password":   "flows/wrong-password.yaml:43",
	"key-differs":          "flows/qr-key.yaml:21",
	"locked-accepts-right": "flows/lockout.yaml:42",
	"lockout-after-4":      "flows/steps/wrong-code.yaml:6", // the 4th wrong code already locks
	"lockout-after-6":      "flows/lockout.yaml:37",
	"long-lock":            "flows/lockout.yaml:68",
	"no-checkbox":          "flows/checkbox.yaml:19",
	"no-disclosure":        "flows/start-page.yaml:26",
	"no-keyboard":          "flows/keyboard.yaml:55",
	"no-lockout":           "flows/lockout.yaml:37",
	"no-name":              "flows/login.yaml:17",
	"qr-differs":           "flows/qr-key.yaml:19",
	"raw-plus":             "flows/qr-key.yaml:11",
	"recovery-not-counted": "flows/lockout.yaml:80",
	"recovery-reusable":    "flows/torlokod.yaml:38",
	"reenroll-same-secret": "flows/torlokod.yaml:32",
	"replay":               "flows/replay.yaml:24",
	"replay-earlier":       "flows/replay.yaml:42",
	"revoke-keeps-secret":  "flows/torlokod.yaml:20",
	"same-secret":          "flows/secrets.yaml:35",
	"secret-changes":       "flows/secrets.yaml:18",
	"short-lock":           "flows/lockout.yaml:62",
	"skew-0":               "flows/window.yaml:21",
	"skew-2":               "flows/window.yaml:69",
	"unenrolled-login":     "flows/not-enrolled.yaml:10",
	"uri-sha256":           "flows/qr-key.yaml:29",
}

var failedFlow = regexp.MustCompile(`(?m)^FAILED\s+(.+?)\s{2,}\d`)

// TestFaultMatrix (go test -run TestFaultMatrix -matrix, or make
// mutants) runs the whole suite against the correct mock and against
// each fault, and prints which flows caught which fault.
func TestFaultMatrix(t *testing.T) {
	if !*matrix {
		t.Skip("pass -matrix (make mutants)")
	}
	needChromium(t)
	out, _, code := kapu(t, nil, "run", "--workers", "2", "--no-color", "--artifacts", t.TempDir(), "flows")
	if code != 0 {
		t.Fatalf("the correct mock fails the suite:\n%s", out)
	}
	faults := mockidp.FaultNames()
	rows := make([]string, len(faults))
	for i, f := range faults {
		func() { // one at a time: each run already keeps both cores busy
			out, errOut, code := kapu(t, nil, "run", "--break", f, "--workers", "2", "--no-color", "--artifacts", t.TempDir(), "flows")
			if code != 0 && code != 1 {
				t.Errorf("fault %s: kapu could not run (exit %d): %s", f, code, errOut)
			}
			var names []string
			for _, m := range failedFlow.FindAllStringSubmatch(out, -1) {
				names = append(names, strings.TrimSpace(m[1]))
			}
			if len(names) == 0 {
				t.Errorf("fault %s: no flow caught it", f)
				names = []string{"NOT CAUGHT"}
			}
			rows[i] = fmt.Sprintf("%-22s %2d  %s", f, len(names), strings.Join(names, "; "))
		}()
	}
	fmt.Fprintf(os.Stdout, "\n%-22s %2s  %s\n", "FAULT", "N", "FLOWS THAT CAUGHT IT")
	for _, r := range rows {
		fmt.Fprintln(os.Stdout, r)
	}
}

// TestConformanceSuitePasses: the correct mock passes every flow.
func TestConformanceSuitePasses(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	needChromium(t)
	out, errOut, code := kapu(t, nil, "run", "--workers", "2", "--no-color", "--artifacts", t.TempDir(), "flows")
	if code != 0 || !strings.Contains(out, " 0 failed, 0 skipped") {
		t.Errorf("kapu run flows: exit %d\n%s%s", code, out, errOut)
	}
}
