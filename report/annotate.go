package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kapu-dev/kapu/runner"
)

// GitHubAnnotations prints a workflow command for each failed step, so
// that GitHub Actions shows the failure on the flow file's line in the
// pull request: ::error file=…,line=…,col=…::message.
func GitHubAnnotations(w io.Writer) func(runner.Event) {
	return func(ev runner.Event) {
		if ev.Kind != runner.StepEnd || ev.Status != runner.Failed {
			return
		}
		file, line, col := "", "", ""
		if at := stepPos(ev.Flow, ev.Index); at != "" {
			parts := strings.Split(at, ":")
			if len(parts) >= 3 {
				file, line, col = strings.Join(parts[:len(parts)-2], ":"), parts[len(parts)-2], parts[len(parts)-1]
			}
		}
		msg := ev.Flow.Name + ": " + ev.Err
		fmt.Fprintf(w, "::error file=%s,line=%s,col=%s,title=%s::%s\n",
			ghProperty(filepath.ToSlash(file)), line, col, ghProperty("kapu: "+ev.Flow.Name), ghData(msg))
	}
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// WriteLastRun records the flows' statuses for --last-failed (the
// run.json of the results, without attempts), replacing the file at once.
func WriteLastRun(path string, res *Results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".last-run-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadLastFailed lists the flows that failed or were flaky in the run
// recorded in path (a last-run.json or a results run.json).
func ReadLastFailed(path string) ([]string, error) {
	res, err := readRun(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no earlier run recorded in %s", path)
	}
	if err != nil {
		return nil, err
	}
	return res.Failed(), nil
}
