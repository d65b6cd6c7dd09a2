package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/browser"
)

// TestBrowserURL drives a Chromium started on its own with a DevTools
// endpoint, as a browser grid would offer.
func TestBrowserURL(t *testing.T) {
	t.Parallel()
	needChromium(t)
	path, _ := browser.FindChromium("")
	dir := t.TempDir()
	cmd := exec.Command(path, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--remote-debugging-port=0", "--user-data-dir="+dir, "about:blank")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Chromium writes its port and path to DevToolsActivePort.
	var ws string
	waitFor(20*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); err == nil && len(lines) == 2 {
			ws = "ws://127.0.0.1:" + lines[0] + lines[1]
		}
		return ws != ""
	})
	if ws == "" {
		t.Fatal("Chromium wrote no DevToolsActivePort")
	}
	out, errOut, code := kapu(t, nil, "run", "--browser-url", ws, "--no-color", "flows/start-page.yaml")
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("--browser-url %s: exit %d\n%s%s", ws, code, out, errOut)
	}
	_, errOut, code = kapu(t, nil, "run", "--browser-url", "ws://127.0.0.1:1/devtools/browser/x", "flows/start-page.yaml")
	if code != 2 || !strings.Contains(errOut, "connect to browser") {
		t.Errorf("unreachable endpoint: exit %d, %q", code, errOut)
	}
}

// TestReportDirNotWritable: the report cannot be written; JUnit still is,
// and kapu says why and exits 1.
func TestReportDirNotWritable(t *testing.T) {
	t.Parallel()
	needChromium(t)
	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, errOut, code := kapu(t, nil, "run", "--no-color", "--report", "/proc/kapu-report", "--junit", junit, "flows/start-page.yaml")
	if code != 1 || !strings.Contains(errOut, "--report") {
		t.Errorf("exit %d, want 1 with a --report error\n%s%s", code, out, errOut)
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), `tests="1"`) {
		t.Errorf("JUnit not written: %v", err)
	}
}

func TestDefaultWorkers(t *testing.T) {
	for cores, want := range map[int]int{0: 1, 1: 2, 2: 4, 8: 16, 64: 16} {
		if got := defaultWorkers(cores); got != want {
			t.Errorf("defaultWorkers(%d) = %d, want %d", cores, got, want)
		}
	}
}
