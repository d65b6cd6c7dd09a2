// Package report turns the runner's events into what people and CI read:
// live lines on a terminal, JUnit XML, and an HTML report. It only reads
// events; secrets arrive masked.
package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/kapu-dev/kapu/runner"
)

// Live prints one line per step while the run goes, and a summary.
type Live struct {
	w      io.Writer
	color  bool
	prefix bool // several flows at once: name each line's flow
	mu     sync.Mutex
}

// NewLive writes to w; color only on a terminal; prefix each line with
// its flow when flows run in parallel.
func NewLive(w io.Writer, color, prefix bool) *Live { return &Live{w: w, color: color, prefix: prefix} }

func (l *Live) paint(code, s string) string {
	if !l.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Event prints ev.
func (l *Live) Event(ev runner.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := ev.Flow.Name
	pre := "  "
	if l.prefix {
		pre = "  [" + name + "] "
	}
	switch ev.Kind {
	case runner.FlowStart:
		if ev.Attempt > 1 {
			fmt.Fprintf(l.w, "%s %s (retry %d)\n", l.paint("33", "↻"), name, ev.Attempt-1)
			return
		}
		fmt.Fprintf(l.w, "%s %s %s\n", l.paint("36", "▶"), name, l.paint("2", "("+ev.Flow.File+")"))
	case runner.StepEnd:
		if ev.Status == runner.Failed {
			fmt.Fprintf(l.w, "%s%s %s %s\n", pre, l.paint("31", "✗"), ev.Text, l.paint("2", dur(ev.Took)))
			fmt.Fprintf(l.w, "%s    %s\n", pre, l.paint("31", ev.Err))
			return
		}
		fmt.Fprintf(l.w, "%s%s %s %s\n", pre, l.paint("32", "✓"), ev.Text, l.paint("2", dur(ev.Took)))
		for _, w := range ev.Warnings {
			fmt.Fprintf(l.w, "%s    %s %s\n", pre, l.paint("33", "!"), w)
		}
	case runner.FlowEnd:
		r := ev.Result
		progress := l.paint("2", fmt.Sprintf("[%d/%d]", ev.Done, ev.Total))
		switch r.Status {
		case runner.Passed:
			fmt.Fprintf(l.w, "%s %s passed %s %s\n", l.paint("32", "✓"), name, dur(r.Took), progress)
		case runner.Flaky:
			fmt.Fprintf(l.w, "%s %s FLAKY: passed on attempt %d of %d %s\n", l.paint("33", "!"), name, r.Attempts, r.Attempts, progress)
		case runner.Skipped:
			fmt.Fprintf(l.w, "%s %s skipped: %s %s\n", l.paint("33", "-"), name, r.Reason, progress)
		default:
			fmt.Fprintf(l.w, "%s %s FAILED %s\n", l.paint("31", "✗"), name, progress)
		}
	}
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "(<1ms)"
	case d < time.Second:
		return fmt.Sprintf("(%dms)", d.Milliseconds())
	}
	return fmt.Sprintf("(%.1fs)", d.Seconds())
}

// Summary prints a table of the flows and a closing count line.
func (l *Live) Summary(s runner.Summary) {
	l.mu.Lock()
	defer l.mu.Unlock()
	width := 10
	for _, r := range s.Results {
		width = max(width, len([]rune(r.Flow.Name)))
	}
	width = min(width, 70)
	fmt.Fprintf(l.w, "\n%-8s  %-*s  %8s  %s\n", "STATUS", width, "FLOW", "TIME", "DETAIL")
	for _, r := range s.Results {
		detail := ""
		switch r.Status {
		case runner.Failed:
			detail = firstLine(r.Err)
		case runner.Skipped:
			detail = r.Reason
		case runner.Flaky:
			detail = "failed first: " + firstLine(strings.Join(r.Earlier, "; "))
		}
		name := r.Flow.Name
		if rs := []rune(name); len(rs) > width {
			name = string(rs[:width-1]) + "…"
		}
		fmt.Fprintf(l.w, "%-8s  %-*s  %8s  %s\n", strings.ToUpper(string(r.Status)), width, name, fmt.Sprintf("%.2fs", r.Took.Seconds()), detail)
	}
	// The plain closing line that CI reads.
	fmt.Fprintf(l.w, "\n%d flows in %.1fs, %d flaky\n", len(s.Results), s.Took.Seconds(), s.Flaky)
	fmt.Fprintf(l.w, "%d passed, %d failed, %d skipped\n", s.Passed+s.Flaky, s.Failed, s.Skipped)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > 140 {
		return string(r[:140]) + "…"
	}
	return s
}
