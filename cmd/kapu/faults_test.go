package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/mockidp"
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
		if len(catchers[f]) == 0 {
			t.Errorf("fault %q: no flow named to catch it", f)
		}
	}
	for f := range catchers {
		if !slices.Contains(mockidp.FaultNames(), f) {
			t.Errorf("catchers names unknown fault %q", f)
		}
	}
}

// TestFaultsCaught runs, for each fault, the flows that must catch it
// against the mock broken that way: each run must fail.
func TestFaultsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fault matrix runs Chromium ~30 times")
	}
	needChromium(t)
	if *matrix {
		t.Skip("-matrix: see TestFaultMatrix")
	}
	faults := make([]string, 0, len(catchers))
	for f := range catchers {
		faults = append(faults, f)
	}
	slices.Sort(faults)
	for _, f := range faults {
		t.Run(f, func(t *testing.T) {
			args := append([]string{"run", "--break", f, "--workers", "2", "--no-color", "--artifacts", t.TempDir()}, catchers[f]...)
			out, errOut, code := kapu(t, nil, args...)
			if code != 1 {
				t.Errorf("--break %s: exit %d, want 1 (a flow must fail)\n%s%s", f, code, out, errOut)
			}
		})
	}
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
