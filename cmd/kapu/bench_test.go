package main

import (
	"bufio"

	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// machineCPU is the CPU time the whole machine has used (user, nice,
// system, irq, softirq, steal of /proc/stat): on a quiet machine, what a
// run costs. The rusage of a waited-for kapu misses most of it: Chromium's
// renderers are children of its zygote, which never waits for them.
func machineCPU(b *testing.B) time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		b.Skip("no /proc/stat: CPU time not measured here")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal …
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		if i < len(fields) {
			n, _ := strconv.ParseInt(fields[i], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// timed runs a command from the repository's root and returns its wall
// time and the machine's CPU time meanwhile.
func timed(b *testing.B, name string, args ...string) (wall, cpu time.Duration) {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = "../.."
	c0, start := machineCPU(b), time.Now()
	out, err := cmd.CombinedOutput()
	wall, cpu = time.Since(start), machineCPU(b)-c0
	if err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return wall, cpu
}

func timedRun(b *testing.B, args ...string) (wall, cpu time.Duration) {
	b.Helper()
	return timed(b, kapuBin, args...)
}

// suiteRun is kapu run over the whole suite with args added.
func suiteRun(b *testing.B, args ...string) {
	var wall, cpu time.Duration
	for b.Loop() {
		wl, c := timedRun(b, append(append([]string{"run", "--no-color", "--artifacts", b.TempDir()}, args...), "flows")...)
		wall, cpu = wall+wl, cpu+c
	}
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
}

// BenchmarkSuite is the whole conformance suite as users run it: on the
// bundled mocks with 1 to 4 and 6 workers and the default (two per core),
// and against one shared kapu mockidp --test-api (the app-under-test
// setup; its flows that move the clock do it on clock scopes). Wall and
// machine CPU seconds.
func BenchmarkSuite(b *testing.B) {
	needChromiumB(b)
	for _, w := range []string{"1", "2", "3", "4", "6", "default"} {
		b.Run("bundled/workers="+w, func(b *testing.B) {
			if w == "default" {
				suiteRun(b)
				return
			}
			suiteRun(b, "--workers", w)
		})
	}
	b.Run("shared-mock/workers=default", func(b *testing.B) {
		suiteRun(b, "--base-url", startMock(b, "--test-api"))
	})
}

// BenchmarkReport is the suite with and without --report, one after the
// other in each round, and the ratio of their wall times.
func BenchmarkReport(b *testing.B) {
	needChromiumB(b)
	var plain, report time.Duration
	for b.Loop() {
		w, _ := timedRun(b, "run", "--no-color", "--artifacts", b.TempDir(), "flows")
		plain += w
		w, _ = timedRun(b, "run", "--no-color", "--report", b.TempDir(), "flows")
		report += w
	}
	b.ReportMetric(plain.Seconds()/float64(b.N), "plain-s")
	b.ReportMetric(report.Seconds()/float64(b.N), "report-s")
	b.ReportMetric(report.Seconds()/plain.Seconds(), "report/plain")
}

// BenchmarkFlowProcesses runs flows/login.yaml as whole processes, browser
// start included, in turn: kapu run; the same flow hand-written with
// chromedp (internal/handwritten/cmd), each with a bundled mock of its
// own; and in Playwright (internal/handwritten/playwright, playwright-core
// from npm on the same headless shell) against a kapu mockidp. It reports
// each one's milliseconds and the ratios.
func BenchmarkFlowProcesses(b *testing.B) {
	needChromiumB(b)
	hand := b.TempDir() + "/handwritten"
	if out, err := exec.Command("go", "build", "-o", hand, "../../internal/handwritten/cmd").CombinedOutput(); err != nil {
		b.Fatalf("build the hand-written program: %v\n%s", err, out)
	}
	_, noNode := exec.LookPath("node")
	if _, err := os.Stat("../../node_modules/playwright-core/package.json"); err != nil || noNode != nil {
		b.Fatal("playwright-core is missing: npm ci (make deps) installs it")
	}
	base := startMock(b, "--test-api")
	var kapu, chromedp, playwright time.Duration
	for b.Loop() {
		w, _ := timedRun(b, "run", "--no-color", "--workers", "1", "--artifacts", b.TempDir(), "flows/login.yaml")
		kapu += w
		w, _ = timed(b, hand)
		chromedp += w
		w, _ = timed(b, "node", "internal/handwritten/playwright/login.mjs", base, "/usr/lib/chromium/chromium-headless-shell")
		playwright += w
	}
	n := float64(b.N)
	b.ReportMetric(kapu.Seconds()*1000/n, "kapu-ms")
	b.ReportMetric(chromedp.Seconds()*1000/n, "chromedp-ms")
	b.ReportMetric(playwright.Seconds()*1000/n, "playwright-ms")
	b.ReportMetric(kapu.Seconds()/chromedp.Seconds(), "kapu/chromedp")
	b.ReportMetric(kapu.Seconds()/playwright.Seconds(), "kapu/playwright")
}

// BenchmarkFiftyFlows runs 50 short flows with 1, 2 and 4 workers and
// reports throughput and the machine's CPU seconds per flow.
func BenchmarkFiftyFlows(b *testing.B) {
	needChromiumB(b)
	args := []string{"run", "--no-color", "--artifacts", os.TempDir(), "--workers", "W"}
	for range 50 {
		args = append(args, "flows/not-enrolled.yaml")
	}
	for _, w := range []int{1, 2, 4} {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			a := append([]string(nil), args...)
			a[5] = strconv.Itoa(w)
			var wall, cpu time.Duration
			for b.Loop() {
				wl, c := timedRun(b, a...)
				wall, cpu = wall+wl, cpu+c
			}
			n := float64(b.N)
			b.ReportMetric(50*n/wall.Seconds(), "flows/s")
			b.ReportMetric(cpu.Seconds()/(50*n), "cpu-s/flow")
		})
	}
}

func needChromiumB(b *testing.B) {
	if _, err := exec.LookPath("chromium"); err != nil {
		b.Skip("no Chromium")
	}
}
