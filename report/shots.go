package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/kapu-dev/kapu/runner"
)

// FailureShots keeps the screenshot of each failed step (secrets already
// blurred) in Dir, and says where on W.
type FailureShots struct {
	Dir string
	W   io.Writer
}

var unsafeName = regexp.MustCompile(`[^\p{L}\p{N}._-]+`)

// Event writes a failed step's screenshot; other events pass.
func (s *FailureShots) Event(ev runner.Event) {
	if ev.Kind != runner.StepEnd || ev.Status != runner.Failed || len(ev.Screenshot) == 0 || s.Dir == "" {
		return
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		fmt.Fprintf(s.W, "    (no screenshot kept: %v)\n", err)
		return
	}
	name := unsafeName.ReplaceAllString(ev.Flow.Name, "-") + "-" + strconv.Itoa(ev.Attempt) + ".png"
	p := filepath.Join(s.Dir, name)
	if err := os.WriteFile(p, ev.Screenshot, 0o644); err != nil {
		fmt.Fprintf(s.W, "    (no screenshot kept: %v)\n", err)
		return
	}
	fmt.Fprintf(s.W, "    screenshot: %s\n", p)
}
