// Package runner executes flow plans in Chromium: one browser per run, a
// browser context per flow, workers, shards, retries and masking. It sends
// Event values, secrets already masked, from one goroutine in order.
package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
)

// Clock is the IdP's time: the test API when the target has it, else the
// wall clock (cmd/kapu passes a testapi.Client or clock.Wall).
type Clock interface {
	Now(ctx context.Context) (time.Time, error)
	Advance(ctx context.Context, d time.Duration) error // the API jumps; the wall waits
}

// User is a login the runner was given.
type User struct{ Username, Password, Name string }

// Users makes fresh users (the test API).
type Users interface {
	NewUser(ctx context.Context) (User, error)
}

// Target is where one flow attempt runs.
type Target struct {
	BaseURL string
	Clock   Clock
	Users   Users // nil: KAPU_USERNAME, KAPU_PASSWORD, KAPU_NAME
	TestAPI bool
	Real    bool // moving the clock takes real time
	Shared  bool // other flows see the same IdP clock
	// Disposable: the target lives for this flow attempt only (the bundled
	// mock's one per flow); what the flow changed goes with it, so its
	// after: steps have nothing to undo and are not run.
	Disposable bool
	// Scope, when the target offers clock scopes (a clock per flow, SPEC
	// 3), is the clock of the scope name; a flow that moves the clock of a
	// shared target then runs beside the others on its own clock, its
	// browsers carrying ClockScope in the cookie ScopeCookie. nil: such
	// flows take turns on the one clock.
	Scope       func(name string) Clock
	ScopeCookie string
	ClockScope  string // set by the runner for the flow that has one
}

// Targets gives each flow attempt its target, and a func to release it.
type Targets interface {
	Target(ctx context.Context, f *flow.Flow) (Target, func(), error)
}

// Options of a run.
type Options struct {
	Browser          browser.Options
	Use              *browser.Browser // a started browser to use (and not close), else one is started
	Workers          int
	Retries          int
	StepTimeout      time.Duration // 0: each flow's own
	FlowTimeout      time.Duration // 0: 5 minutes, plus real clock waits
	Screenshots      bool          // a screenshot after every step (for the report)
	ShowSecrets      bool          // do not blur secret elements in screenshots
	AllowDestructive bool          // run destructive flows on targets without the test API
	Keyboard         bool          // every click becomes Tab to the element and Enter or Space
	AxePath          string        // axe.min.js; "": node_modules/axe-core/axe.min.js
	// Pause, when set, is called before each step (kapu run --step); an
	// error stops the flow.
	Pause  func(ctx context.Context, f *flow.Flow, i int, s flow.Step) error
	Getenv func(string) string
	// Pool is the accounts of a target without the test API (--users):
	// a flow's user steps take theirs for its whole run, exclusively.
	Pool *Pool
}

// Status of a step or a flow.
type Status string

const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	Flaky   Status = "flaky" // failed, then passed on a retry
	NotRun  Status = "not run"
)

// EventKind says what an Event reports.
type EventKind int

const (
	FlowStart EventKind = iota
	StepEnd
	FlowEnd
	flush // internal: every event before it has been handed on
)

// Event is one thing that happened, secrets already masked.
type Event struct {
	Kind       EventKind
	Flow       *flow.Flow
	Attempt    int // from 1
	Index      int // StepEnd: the step's index in Flow.Steps
	Text       string
	Warnings   []string // for reviewers: what axe could not decide
	Status     Status
	Err        string
	Took       time.Duration
	Screenshot []byte // PNG of a failed step, secrets blurred
	Thumb      []byte // small JPEG of every step (Options.Screenshots), secrets blurred
	Tree       []AXLine
	Focus      string    // the focused element (Options.Screenshots)
	TabOrder   []TabStop // the Tab stops of a page structure new in the flow (Options.Screenshots)
	Result     *Result   // FlowEnd
	Done       int       // flows finished so far
	Total      int

	flushed chan struct{}
}

// AXLine is one line of the accessibility tree as a reviewer reads it.
type AXLine = browser.AXLine

// TabStop is one element Tab visits, with whether its focus is visible.
type TabStop = browser.TabStop

// Result is a flow's outcome over all its attempts.
type Result struct {
	Flow     *flow.Flow
	Status   Status
	Attempts int
	Err      string   // the last failure, masked
	Earlier  []string // failures of earlier attempts (flaky flows)
	Reason   string   // why it was skipped
	Took     time.Duration
	Steps    []StepResult // of the last attempt
}

// StepResult is one step of the last attempt.
type StepResult struct {
	Text     string
	Warnings []string
	Status   Status
	Err      string
	Took     time.Duration
}

// Summary of a run.
type Summary struct {
	Results                        []*Result
	Passed, Failed, Skipped, Flaky int
	Took                           time.Duration
}

// OK tells whether the run passed (skipped flows do not fail a run).
func (s Summary) OK(failOnFlaky bool) bool {
	return s.Failed == 0 && (!failOnFlaky || s.Flaky == 0)
}

// run is one kapu run.
type run struct {
	opts    Options
	targets Targets
	events  chan Event
	shared  sync.RWMutex // clock-moving flows on a shared target take it alone
	slots   *slots       // the workers (see slots.go)

	bmu     sync.Mutex
	browser *browser.Browser

	lastMu   sync.Mutex
	lastStep map[string]int64 // wall clock: last code step used per key
	mask     *masker
	axeOnce  sync.Once
	axeSrc   string
	axeErr   error
	total    int
	done     int
	doneMu   sync.Mutex
}

// Run runs flows and calls emit for each event, from one goroutine, in
// order for each flow. The error is for what stopped the run as a whole
// (no browser); a failed flow is a Result.
func Run(ctx context.Context, flows []*flow.Flow, targets Targets, opts Options, emit func(Event)) (Summary, error) {
	start := time.Now()
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	r := &run{opts: opts, targets: targets, events: make(chan Event, 64), lastStep: map[string]int64{}, mask: &masker{}, total: len(flows)}
	if opts.Use != nil {
		r.browser = opts.Use
	} else {
		b, err := browser.Start(ctx, opts.Browser)
		if err != nil {
			return Summary{}, err
		}
		r.browser = b
	}
	defer func() {
		r.bmu.Lock()
		if r.browser != opts.Use { // ours: started here, or after a crash
			r.browser.Close()
		}
		r.bmu.Unlock()
	}()

	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		for ev := range r.events {
			if ev.Kind == flush {
				close(ev.flushed)
				continue
			}
			if emit != nil {
				emit(ev)
			}
		}
	}()
	results := r.work(ctx, flows)
	close(r.events)
	<-emitted
	s := summarize(flows, results, time.Since(start))
	if ctx.Err() != nil {
		return s, fmt.Errorf("run interrupted: %w", context.Cause(ctx))
	}
	return s, nil
}

// work runs the flows on the workers; a flow never started (the run was
// interrupted) has a nil result.
func (r *run) work(ctx context.Context, flows []*flow.Flow) []*Result {
	results := make([]*Result, len(flows))
	r.slots = newSlots(r.opts.Workers)
	var wg sync.WaitGroup
	workers := r.opts.Workers
	if r.opts.Pause != nil {
		workers = 1 // --step: in the suite's order
	}
	for _, i := range startOrder(flows, workers) {
		if r.slots.acquire(ctx, false) != nil {
			break
		}
		wg.Go(func() {
			defer r.slots.release()
			results[i] = r.flow(ctx, flows[i])
		})
	}
	wg.Wait()
	return results
}

// summarize counts the results; a flow never started is skipped as
// interrupted.
func summarize(flows []*flow.Flow, results []*Result, took time.Duration) Summary {
	s := Summary{Took: took}
	for i, res := range results {
		if res == nil {
			res = &Result{Flow: flows[i], Status: Skipped, Reason: "interrupted"}
		}
		s.Results = append(s.Results, res)
		switch res.Status {
		case Passed:
			s.Passed++
		case Failed:
			s.Failed++
		case Skipped:
			s.Skipped++
		case Flaky:
			s.Flaky++
		}
	}
	return s
}

func (r *run) emit(ev Event) { r.events <- ev }

// flushEvents waits until every event sent so far has been handed on.
func (r *run) flushEvents() {
	done := make(chan struct{})
	r.events <- Event{Kind: flush, flushed: done}
	<-done
}

// flow runs one flow with its retries.
func (r *run) flow(ctx context.Context, f *flow.Flow) *Result {
	start := time.Now()
	res := &Result{Flow: f}
	defer func() {
		res.Took = time.Since(start)
		r.doneMu.Lock()
		r.done++
		done := r.done
		r.doneMu.Unlock()
		r.emit(Event{Kind: FlowEnd, Flow: f, Attempt: res.Attempts, Status: res.Status, Err: res.Err, Took: res.Took, Result: res, Done: done, Total: r.total})
	}()
	for attempt := 1; attempt <= r.opts.Retries+1; attempt++ {
		res.Attempts = attempt
		status, err, reason, steps := r.attempt(ctx, f, attempt)
		res.Steps = steps
		switch {
		case status == Skipped:
			res.Status, res.Reason = Skipped, reason
			return res
		case status == Passed && attempt == 1:
			res.Status = Passed
			return res
		case status == Passed:
			res.Status = Flaky
			return res
		}
		res.Status, res.Err = Failed, err
		if ctx.Err() != nil {
			return res
		}
		if attempt <= r.opts.Retries {
			res.Earlier = append(res.Earlier, err)
		}
	}
	return res
}

// skipReason says why f cannot run on t, or "".
func (r *run) skipReason(f *flow.Flow, t Target) string {
	if slices.Contains(f.Needs, "test-api") && !t.TestAPI {
		return "needs the test API (/__kapu/), which the target does not serve"
	}
	if f.Destructive != "" && !t.TestAPI && !r.opts.AllowDestructive {
		return "destructive on a shared account (" + f.Destructive + "): pass --allow-destructive to run it"
	}
	needs := poolNeeds(f)
	if t.Users != nil {
		if slices.ContainsFunc(needs, func(n need) bool { return n.enrolled }) {
			return "user: enrolled needs an account pool with enrolled accounts (--users); the test API makes users not enrolled"
		}
		return ""
	}
	if r.opts.Pool != nil && len(needs) > 0 {
		if why := r.opts.Pool.fits(needs); why != "" {
			return why
		}
	}
	return ""
}

// tab opens a tab, starting a new browser when the old one crashed.
func (r *run) tab(ctx context.Context) (*browser.Tab, error) {
	r.bmu.Lock()
	b := r.browser
	r.bmu.Unlock()
	tab, err := b.NewTab(ctx)
	if err == nil || !errors.Is(err, browser.ErrCrashed) {
		return tab, err
	}
	r.bmu.Lock()
	if r.browser == b { // the first to notice restarts it
		b.Close()
		nb, serr := browser.Start(ctx, r.opts.Browser)
		if serr != nil {
			r.bmu.Unlock()
			return nil, fmt.Errorf("restart the browser after a crash: %w", serr)
		}
		r.browser = nb
	}
	b = r.browser
	r.bmu.Unlock()
	return b.NewTab(ctx)
}

// ErrNoAxe says how to get axe-core.
var ErrNoAxe = errors.New("axe-core not found: run npm ci in the kapu checkout (make does), or pass --axe PATH to axe.min.js")

// axe returns the source of axe-core, read once per run.
func (r *run) axe() (string, error) {
	r.axeOnce.Do(func() {
		p := r.opts.AxePath
		if p == "" {
			p = filepath.Join("node_modules", "axe-core", "axe.min.js")
		}
		b, err := os.ReadFile(p)
		if err != nil {
			r.axeErr = fmt.Errorf("%w (%v)", ErrNoAxe, err)
			return
		}
		r.axeSrc = string(b)
	})
	return r.axeSrc, r.axeErr
}

func movesClock(f *flow.Flow) bool {
	return slices.ContainsFunc(f.Steps, func(s flow.Step) bool { _, ok := s.(flow.Clock); return ok })
}
