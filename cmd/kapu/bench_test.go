package main

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// timedRun runs kapu and returns its wall time and the CPU time of the
// whole process tree (kapu, Chromium and its children, as waited for).
func timedRun(b *testing.B, args ...string) (wall, cpu time.Duration) {
	b.Helper()
	cmd := exec.Command(kapuBin, args...)
	cmd.Dir = "../.."
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall = time.Since(start)
	if err != nil {
		b.Fatalf("kapu %v: %v\n%s", args, err, out)
	}
	// On Linux the rusage wait4 gives for a child includes the children it
	// waited for: Chromium and, through it, its renderers and GPU process.
	st := cmd.ProcessState
	return wall, st.UserTime() + st.SystemTime()
}

// BenchmarkSuite is the whole conformance suite on the bundled mock,
// with 1 worker and with one per core.
func BenchmarkSuite(b *testing.B) {
	needChromiumB(b)
	for _, w := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			var wall, cpu time.Duration
			for b.Loop() {
				wl, c := timedRun(b, "run", "--no-color", "--workers", strconv.Itoa(w), "--artifacts", b.TempDir(), "flows")
				wall, cpu = wall+wl, cpu+c
			}
			b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
		})
	}
}

// BenchmarkFiftyFlows runs 50 short flows with 1, 2 and 4 workers and
// reports throughput and the CPU seconds per flow of the process tree.
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
