package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/runner"
)

// Results are what a run leaves, as data: everything the JUnit and HTML
// renderers need, already masked, so that one renderer serves one run and
// the merged results of many (shards, reruns). On disk (kapu run
// --results DIR): DIR/run.json, one DIR/flows/NNNN-A.json per flow
// attempt, and the pictures as files in DIR/img/, named by their content.

// ResultsVersion is the format of results on disk; merge refuses others.
const ResultsVersion = 1

// Results is one run's results, or several merged.
type Results struct {
	Version int           `json:"version"`
	Kapu    string        `json:"kapu"`  // the kapu that ran it
	Suite   string        `json:"suite"` // names the flows selected before sharding
	Shard   string        `json:"shard,omitempty"`
	Started time.Time     `json:"started"`
	Took    Duration      `json:"took"`
	Flows   []*FlowResult `json:"flows"` // in suite order

	images map[string][]byte // pictures not on disk yet, by name
	dir    string            // where the pictures are on disk, if loaded
}

// FlowResult is a flow (or case) with all its attempts.
type FlowResult struct {
	ID       string           `json:"id"` // file#name: the same in every shard
	Order    int              `json:"order"`
	Name     string           `json:"name"`
	File     string           `json:"file"`
	Line     int              `json:"line"`
	Status   runner.Status    `json:"status"`
	Reason   string           `json:"reason,omitempty"`
	Took     Duration         `json:"took"`
	Attempts []*AttemptResult `json:"-"` // in flows/NNNN-A.json

	src *Results // where its pictures are
}

// AttemptResult is one attempt of a flow.
type AttemptResult struct {
	Flow    string        `json:"flow"` // FlowResult.ID
	N       int           `json:"attempt"`
	Status  runner.Status `json:"status"`
	Err     string        `json:"error,omitempty"`
	Took    Duration      `json:"took"`
	Steps   []StepData    `json:"steps"`
	Started time.Time     `json:"started"`
}

// StepData is one step of an attempt, masked.
type StepData struct {
	N        int              `json:"n"`
	At       string           `json:"at,omitempty"` // file:line:col
	Text     string           `json:"text"`
	Status   runner.Status    `json:"status"`
	Err      string           `json:"error,omitempty"`
	Warnings []string         `json:"warnings,omitempty"`
	Took     Duration         `json:"took"`
	Shot     string           `json:"shot,omitempty"`  // img/ name: a failed step's full screenshot
	Thumb    string           `json:"thumb,omitempty"` // img/ name: every step's small one (--report)
	Tree     []runner.AXLine  `json:"tree,omitempty"`
	Focus    string           `json:"focus,omitempty"`
	TabOrder []runner.TabStop `json:"tab_order,omitempty"` // for a page structure new in the flow
}

// Duration is a time.Duration written as seconds in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// KapuVersion names the running kapu: its module version and commit.
func KapuVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return v
}

// SuiteID names the flows selected before sharding, in order: every
// shard of one suite has the same.
func SuiteID(flows []*flow.Flow) string {
	h := sha256.New()
	for _, f := range flows {
		h.Write([]byte(FlowID(f) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// FlowID names a flow the same way in every run: file#name.
func FlowID(f *flow.Flow) string { return filepath.ToSlash(filepath.Clean(f.File)) + "#" + f.Name }

// Recorder turns a run's events into Results.
type Recorder struct {
	mu       sync.Mutex
	res      *Results
	byFlow   map[*flow.Flow]*FlowResult
	order    map[string]int
	attempts map[*flow.Flow]*AttemptResult
}

// NewRecorder starts the results of a run of suite (the flows selected
// before sharding, in order) as shard ("" for all).
func NewRecorder(suite []*flow.Flow, shard string, started time.Time) *Recorder {
	order := map[string]int{}
	for i, f := range suite {
		order[FlowID(f)] = i
	}
	return &Recorder{
		res:      &Results{Version: ResultsVersion, Kapu: KapuVersion(), Suite: SuiteID(suite), Shard: shard, Started: started, images: map[string][]byte{}},
		byFlow:   map[*flow.Flow]*FlowResult{},
		order:    order,
		attempts: map[*flow.Flow]*AttemptResult{},
	}
}

// Event records ev.
func (r *Recorder) Event(ev runner.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Kind {
	case runner.FlowStart:
		fr := r.flow(ev.Flow)
		a := &AttemptResult{Flow: fr.ID, N: ev.Attempt, Started: time.Now()}
		fr.Attempts = append(fr.Attempts, a)
		r.attempts[ev.Flow] = a
	case runner.StepEnd:
		a := r.attempts[ev.Flow]
		if a == nil {
			return
		}
		st := StepData{N: ev.Index + 1, At: stepWhere(ev.Flow, ev.Index), Text: ev.Text, Status: ev.Status, Err: ev.Err,
			Warnings: ev.Warnings, Took: Duration(ev.Took), Tree: ev.Tree, Focus: ev.Focus, TabOrder: ev.TabOrder}
		st.Shot = r.keep(ev.Screenshot, ".png")
		st.Thumb = r.keep(ev.Thumb, ".webp")
		a.Steps = append(a.Steps, st)
	case runner.FlowEnd:
		if ev.Result == nil {
			return
		}
		fr := r.flow(ev.Flow)
		if a := r.attempts[ev.Flow]; a != nil {
			a.Status, a.Err, a.Took = attemptStatus(ev.Result), ev.Result.Err, Duration(time.Since(a.Started))
			// Steps not run are only in the result.
			for _, s := range ev.Result.Steps[min(len(a.Steps), len(ev.Result.Steps)):] {
				a.Steps = append(a.Steps, StepData{N: len(a.Steps) + 1, Text: s.Text, Status: s.Status})
			}
		}
		fr.Status, fr.Reason, fr.Took = ev.Result.Status, ev.Result.Reason, Duration(ev.Result.Took)
	}
}

// attemptStatus is the status of a flow's last attempt.
func attemptStatus(r *runner.Result) runner.Status {
	if r.Status == runner.Flaky {
		return runner.Passed
	}
	return r.Status
}

// step is the i-th step of f as the runner numbers them: the steps, then
// the teardown.
func step(f *flow.Flow, i int) flow.Step {
	switch {
	case i < len(f.Steps):
		return f.Steps[i]
	case i-len(f.Steps) < len(f.After):
		return f.After[i-len(f.Steps)]
	}
	return nil
}

// stepPos is the step's file:line:col.
func stepPos(f *flow.Flow, i int) string {
	if s := step(f, i); s != nil {
		return s.Pos().String()
	}
	return ""
}

// stepWhere is the step's file:line:col and those of the includes that
// pulled it in.
func stepWhere(f *flow.Flow, i int) string {
	if s := step(f, i); s != nil {
		return s.Base().Where()
	}
	return ""
}

func (r *Recorder) flow(f *flow.Flow) *FlowResult {
	fr := r.byFlow[f]
	if fr == nil {
		fr = &FlowResult{ID: FlowID(f), Order: r.order[FlowID(f)], Name: f.Name, File: filepath.ToSlash(f.File), Line: f.At.Line, src: r.res}
		r.byFlow[f] = fr
		r.res.Flows = append(r.res.Flows, fr)
	}
	return fr
}

// keep stores a picture once by its content and returns its name.
func (r *Recorder) keep(b []byte, ext string) string {
	if len(b) == 0 {
		return ""
	}
	sum := sha256.Sum256(b)
	name := hex.EncodeToString(sum[:12]) + ext
	r.res.images[name] = b
	return name
}

// Results returns what was recorded, with the summary's flows that never
// started (skipped, interrupted), in suite order.
func (r *Recorder) Results(s runner.Summary) *Results {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range s.Results {
		fr := r.flow(res.Flow)
		fr.Status, fr.Reason, fr.Took = res.Status, res.Reason, Duration(res.Took)
	}
	r.res.Took = Duration(s.Took)
	slices.SortStableFunc(r.res.Flows, func(a, b *FlowResult) int { return a.Order - b.Order })
	return r.res
}

// image returns a picture's bytes.
func (res *Results) image(name string) ([]byte, error) {
	if b, ok := res.images[name]; ok {
		return b, nil
	}
	if res.dir == "" {
		return nil, os.ErrNotExist
	}
	return os.ReadFile(filepath.Join(res.dir, "img", filepath.Base(name)))
}

// WriteResults writes res to dir: run.json, flows/, img/.
func WriteResults(dir string, res *Results) error {
	for _, d := range []string{dir, filepath.Join(dir, "flows"), filepath.Join(dir, "img")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("results: %w", err)
		}
	}
	for _, f := range res.Flows {
		for _, a := range f.Attempts {
			if err := writeJSON(filepath.Join(dir, "flows", fmt.Sprintf("%04d-%d.json", f.Order, a.N)), a); err != nil {
				return err
			}
			for _, st := range a.Steps {
				for _, name := range []string{st.Shot, st.Thumb} {
					if err := copyImage(f.src, name, filepath.Join(dir, "img")); err != nil {
						return err
					}
				}
			}
		}
	}
	return writeJSON(filepath.Join(dir, "run.json"), res)
}

func copyImage(src *Results, name, dir string) error {
	if name == "" {
		return nil
	}
	to := filepath.Join(dir, name)
	if _, err := os.Stat(to); err == nil {
		return nil // by content: the same picture
	}
	b, err := src.image(name)
	if err != nil {
		return fmt.Errorf("results: picture %s: %w", name, err)
	}
	return os.WriteFile(to, b, 0o644)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// ReadResults reads the results kapu run --results wrote to dir.
func ReadResults(dir string) (*Results, error) {
	res, err := readRun(filepath.Join(dir, "run.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: no run.json: not the results of kapu run --results", dir)
	}
	if err != nil {
		return nil, err
	}
	res.dir = dir
	for _, f := range res.Flows {
		f.src = res
		files, _ := filepath.Glob(filepath.Join(dir, "flows", fmt.Sprintf("%04d-*.json", f.Order)))
		for _, p := range files {
			var a AttemptResult
			b, err := os.ReadFile(p)
			if err == nil {
				err = json.Unmarshal(b, &a)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if a.Flow == f.ID {
				f.Attempts = append(f.Attempts, &a)
			}
		}
		slices.SortFunc(f.Attempts, func(a, b *AttemptResult) int { return a.N - b.N })
	}
	return res, nil
}

// readRun reads a run.json or last-run.json: the results without their
// attempts. A missing file is os.ErrNotExist.
func readRun(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if res.Version != ResultsVersion {
		return nil, fmt.Errorf("%s: results of format %d; this kapu reads format %d", path, res.Version, ResultsVersion)
	}
	return &res, nil
}

// Merge puts the results of several shards or reruns of one suite
// together: flows in suite order; a flow run in more than one is flaky
// when it both passed and failed. Results of another kapu, format or
// suite are refused.
func Merge(all []*Results) (*Results, error) {
	if len(all) == 0 {
		return nil, errors.New("merge: no results")
	}
	first := all[0]
	out := &Results{Version: first.Version, Kapu: first.Kapu, Suite: first.Suite, Started: first.Started}
	byID := map[string]*FlowResult{}
	for _, r := range all {
		switch {
		case r.Kapu != first.Kapu:
			return nil, fmt.Errorf("merge: %s was made by kapu %q, %s by kapu %q: merge results of one kapu", r.dir, r.Kapu, first.dir, first.Kapu)
		case r.Suite != first.Suite:
			return nil, fmt.Errorf("merge: %s and %s ran different suites (other flows, or another --grep/--skip): merge the shards of one run", r.dir, first.dir)
		}
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		out.Took = max(out.Took, r.Took)
		for _, f := range r.Flows {
			m := byID[f.ID]
			if m == nil {
				c := *f
				c.Attempts = slices.Clone(f.Attempts)
				byID[f.ID] = &c
				out.Flows = append(out.Flows, &c)
				continue
			}
			m.Attempts = append(m.Attempts, f.Attempts...)
			m.Status = mergeStatus(m.Status, f.Status)
			m.Took += f.Took
			if f.Status != runner.Skipped && f.Status != "" {
				m.src, m.Reason = f.src, f.Reason // the pictures of the last attempt shown
			}
		}
	}
	for _, f := range out.Flows {
		for i, a := range f.Attempts {
			a.N = i + 1
		}
	}
	slices.SortStableFunc(out.Flows, func(a, b *FlowResult) int { return a.Order - b.Order })
	return out, nil
}

// mergeStatus is a flow's status over two runs of it.
func mergeStatus(a, b runner.Status) runner.Status {
	has := func(s runner.Status) bool { return a == s || b == s }
	switch {
	case has(runner.Flaky), has(runner.Passed) && has(runner.Failed):
		return runner.Flaky
	case has(runner.Failed):
		return runner.Failed
	case has(runner.Passed):
		return runner.Passed
	}
	return runner.Skipped
}

// Failed lists the IDs of the flows that failed or were flaky.
func (res *Results) Failed() []string {
	var out []string
	for _, f := range res.Flows {
		if f.Status == runner.Failed || f.Status == runner.Flaky {
			out = append(out, f.ID)
		}
	}
	return out
}

// Counts are the totals by status.
func (res *Results) Counts() (passed, failed, flaky, skipped int) {
	for _, f := range res.Flows {
		switch f.Status {
		case runner.Passed:
			passed++
		case runner.Failed:
			failed++
		case runner.Flaky:
			flaky++
		default:
			skipped++
		}
	}
	return
}

// last is a flow's last attempt, or nil.
func (f *FlowResult) last() *AttemptResult {
	if len(f.Attempts) == 0 {
		return nil
	}
	return f.Attempts[len(f.Attempts)-1]
}

// errs are the failures of the attempts before the last, for flaky flows.
func (f *FlowResult) earlier() []string {
	var out []string
	for _, a := range f.Attempts[:max(0, len(f.Attempts)-1)] {
		if a.Err != "" {
			out = append(out, a.Err)
		}
	}
	return out
}
