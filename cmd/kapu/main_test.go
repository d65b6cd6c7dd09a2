package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/internal/kaputest"
	"github.com/kapu-dev/kapu/internal/poll"
)

var update = flag.Bool("update", false, "rewrite golden files")

var kapuBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kapu-bin")
	if err != nil {
		panic(err)
	}
	kapuBin = filepath.Join(dir, "kapu")
	if out, err := exec.Command("go", "build", "-o", kapuBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build kapu: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	kaputest.Close() // the Chromium that in-process runs share
	os.RemoveAll(dir)
	os.Exit(code)
}

// kapu runs the binary from the repository's top, as a user would.
func kapu(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kapuBin, args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func needChromium(t *testing.T) {
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(p, []byte(got), 0o644)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/kapu -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	out, _, code := kapu(t, nil, "validate", "flows")
	if code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("validate flows: exit %d, %q", code, out)
	}
	_, errOut, code := kapu(t, nil, "validate", "flow/testdata/invalid/many.yaml")
	if code != 2 {
		t.Errorf("validate a broken flow: exit %d, want 2", code)
	}
	golden(t, "validate-many.txt", errOut)
	_, errOut, code = kapu(t, nil, "validate", "cmd/kapu/testdata/empty")
	if code != 2 || !strings.Contains(errOut, "no flows or step libraries found") {
		t.Errorf("no flows: exit %d, %q", code, errOut)
	}
	// A step library alone is valid on its own (it is checked with no
	// variables known), not "no flows".
	out, errOut, code = kapu(t, nil, "validate", "flows/steps/enroll.yaml")
	if code != 0 || out != "1 step library: valid\n" {
		t.Errorf("validate a step library: exit %d, %q %q", code, out, errOut)
	}
}

func TestSchemaCommand(t *testing.T) {
	t.Parallel()
	out, _, code := kapu(t, nil, "schema")
	want, _ := os.ReadFile("../../flows/kapu.schema.json")
	if code != 0 || out != string(want) {
		t.Errorf("kapu schema: exit %d; output equals flows/kapu.schema.json: %v", code, out == string(want))
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	needChromium(t)
	out, _, code := kapu(t, nil, "run", "--workers", "2", "flows/start-page.yaml", "flows/not-enrolled.yaml")
	if code != 0 || !strings.Contains(out, "2 passed, 0 failed, 0 skipped") {
		t.Errorf("passing flows: exit %d\n%s", code, out)
	}
	out, _, code = kapu(t, nil, "run", "--artifacts", t.TempDir(), "runner/testdata/fail-expect.yaml")
	if code != 1 || !strings.Contains(out, "0 passed, 1 failed") || !strings.Contains(out, "screenshot: ") {
		t.Errorf("failing flow: exit %d, want 1\n%s", code, out)
	}
	_, errOut, code := kapu(t, nil, "run", "flow/testdata/invalid/many.yaml")
	if code != 2 || !strings.Contains(errOut, "did you mean") {
		t.Errorf("invalid flow: exit %d, want 2\n%s", code, errOut)
	}
}

func TestUnreachableTarget(t *testing.T) {
	t.Parallel()
	_, errOut, code := kapu(t, nil, "run", "--base-url", "http://127.0.0.1:1", "flows/start-page.yaml")
	if code != 2 || !strings.Contains(errOut, "unreachable") {
		t.Errorf("exit %d, want 2 with \"unreachable\": %q", code, errOut)
	}
}

func TestMissingChromium(t *testing.T) {
	t.Parallel()
	_, errOut, code := kapu(t, nil, "run", "--chromium", "/nonexistent/chromium", "flows/start-page.yaml")
	if code != 2 || !strings.Contains(errOut, "apt-get install -y chromium") {
		t.Errorf("exit %d, want 2 saying how to install Chromium: %q", code, errOut)
	}
}

var trials = flag.Int("trials", 3, "kill kapu run this many times per signal in TestInterruptLeavesNoChromium (make soak: 20)")

// TestInterruptLeavesNoChromium stops kapu run with SIGINT, SIGTERM and
// SIGKILL at random moments after its browser started, and finds no
// Chromium process and no profile directory left behind.
func TestInterruptLeavesNoChromium(t *testing.T) {
	t.Parallel()
	needChromium(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			for trial := range *trials {
				interruptOnce(t, sig, trial)
			}
		})
	}
}

func interruptOnce(t *testing.T, sig syscall.Signal, trial int) {
	t.Helper()
	// A short TMPDIR: Chromium's socket path must stay under 108 bytes.
	tmp, err := os.MkdirTemp("", "ki")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(kapuBin, "run", "--workers", "2", "flows/login.yaml", "flows/start-page.yaml")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(60*time.Second, func() bool { return len(chromiumsUsing(tmp)) > 0 }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("trial %d: no Chromium seen; output:\n%s", trial, out.String())
	}
	// A random moment of the run: after a random number of its live lines
	// (0 is right after the browser started), or at its end.
	lines := rand.IntN(12)
	waitFor(30*time.Second, func() bool { return strings.Count(out.String(), "\n") >= lines })
	cmd.Process.Signal(sig)
	cmd.Wait()
	// Chromium's children, and the reaper, may take a moment.
	var left []string
	var ents []os.DirEntry
	if waitFor(15*time.Second, func() bool {
		left = chromiumsUsing(tmp)
		ents, _ = os.ReadDir(tmp)
		return len(left) == 0 && len(ents) == 0
	}) {
		return
	}
	if len(left) > 0 {
		t.Errorf("trial %d, %v: Chromium processes left: %v", trial, sig, left)
	}
	if len(ents) > 0 {
		t.Errorf("trial %d, %v: %d entries left in TMPDIR (%s)", trial, sig, len(ents), ents[0].Name())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// chromiumsUsing lists the processes whose command line names dir.
func chromiumsUsing(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cl := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cl, dir) && strings.Contains(cl, "chrom") {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}

// The README's tables of steps and assertions are kapu help steps
// --markdown: generated from the flow package's tables (make docs).
func TestReadmeTables(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := readmeTables(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Error("README.md's step tables are stale: make docs")
	}
	out, _, code := kapu(t, nil, "help", "steps")
	for _, k := range flow.Kinds() {
		if code != 0 || !strings.Contains(out, "\n  "+k.Name+"\n") {
			t.Errorf("kapu help steps: exit %d, no %q", code, k.Name)
		}
	}
	for _, a := range flow.Assertions() {
		if !strings.Contains(string(b), "| `"+a[0]+"` |") {
			t.Errorf("README: no row for the assertion %q", a[0])
		}
	}
}

// waitFor waits until cond holds, asking with a short backoff, for at most
// d; it tells whether cond held.
func waitFor(d time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return poll.Until(ctx, poll.Page, cond) == nil
}
