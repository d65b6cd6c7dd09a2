package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/report"
	"github.com/kapu-dev/kapu/runner"
)

type runFlags struct {
	baseURL, chromium, browserURL, users, artifacts, mockAddr, axe string
	workers, retries, skew                                         int
	timeout, flowTimeout, slowMo                                   time.Duration
	headful, allowDestructive, showSecrets, noColor, keyboard      bool
	step                                                           bool
	faults, shard, grep, skip, junit, report                       string
	failOnFlaky, lastFailed                                        bool
	results                                                        string
	idp                                                            idpFlags
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, fs, code := parseRunFlags(args, stderr)
	if fs == nil {
		return code
	}
	suite, flows, code := selectFlows(f, fs, stdout, stderr)
	if flows == nil {
		return code
	}
	targets, err := newTargets(ctx, f, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return exitUsage
	}
	defer targets.close()
	opts := runOptions(f, stdout)
	if opts.Pool, err = accountPool(f, fs, targets, stdout); err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return exitUsage
	}
	if f.browserURL == "" {
		dir, done, err := startReaper()
		if err != nil {
			fmt.Fprintf(stderr, "kapu: %v\n", err)
			return exitUsage
		}
		defer done()
		opts.Browser.ProfileDir = dir
	}
	started := time.Now()
	rec := report.NewRecorder(suite, f.shard, started)
	live := report.NewLive(stdout, isTerminal(stdout) && !f.noColor && os.Getenv("NO_COLOR") == "" && os.Getenv("CI") == "", f.workers > 1 && len(flows) > 1)
	sinks := []func(runner.Event){live.Event, (&report.FailureShots{Dir: f.artifacts, W: stdout}).Event, rec.Event}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		sinks = append(sinks, report.GitHubAnnotations(stdout))
	}
	fmt.Fprintf(stdout, "kapu: %d flows against %s, %d workers\n", len(flows), targets.describe(), opts.Workers)
	sum, err := runner.Run(ctx, flows, targets, opts, func(ev runner.Event) {
		for _, sink := range sinks {
			sink(ev)
		}
	})
	if err != nil && len(sum.Results) == 0 {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return exitUsage
	}
	live.Summary(sum)
	code = exitOK
	if !sum.OK(f.failOnFlaky) || err != nil {
		code = exitFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
	}
	return max(code, writeResults(f, rec.Results(sum), stdout, stderr))
}

// selectFlows loads the flows and keeps those the flags ask for: the
// suite (after --last-failed, --grep and --skip) and this shard's share.
// Nil flows means stop with code.
func selectFlows(f runFlags, fs *flag.FlagSet, stdout, stderr io.Writer) (suite, flows []*flow.Flow, code int) {
	all, err := loadFlows(fs.Args(), stderr)
	if err != nil {
		return nil, nil, exitUsage
	}
	if f.lastFailed {
		if all = lastFailed(all, f, stdout); len(all) == 0 {
			return nil, nil, exitOK
		}
	}
	if suite, err = runner.Select(all, runner.Filter{Grep: f.grep, Skip: f.skip}); err == nil {
		flows, err = runner.Select(suite, runner.Filter{Shard: f.shard})
	}
	if err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return nil, nil, exitUsage
	}
	return suite, flows, exitOK
}

// lastFailed keeps the flows that failed or were flaky in the last run.
func lastFailed(all []*flow.Flow, f runFlags, stdout io.Writer) []*flow.Flow {
	file := lastRunFile(f)
	ids, err := report.ReadLastFailed(file)
	if err != nil {
		fmt.Fprintf(stdout, "kapu: --last-failed: %v: nothing to run\n", err)
		return nil
	}
	var keep []*flow.Flow
	for _, fl := range all {
		if slices.Contains(ids, report.FlowID(fl)) {
			keep = append(keep, fl)
		}
	}
	if len(keep) == 0 {
		fmt.Fprintf(stdout, "kapu: --last-failed: no flow failed in the last run (%s, %d failed or flaky of these files): nothing to run\n", file, len(ids))
	}
	return keep
}

// lastRunFile is where a run records its flows' statuses for
// --last-failed: in --results DIR, else in --artifacts (kapu-results/).
func lastRunFile(f runFlags) string {
	if f.results != "" {
		return filepath.Join(f.results, "run.json")
	}
	return filepath.Join(f.artifacts, "last-run.json")
}

// accountPool is the accounts of a --base-url target without the test
// API: --users FILE, else $KAPU_USERS, else a pool of one from
// KAPU_USERNAME, KAPU_PASSWORD and KAPU_NAME (nil if those are unset).
func accountPool(f runFlags, fs *flag.FlagSet, t *targets, stdout io.Writer) (*runner.Pool, error) {
	if f.baseURL == "" || t.api != nil {
		return nil, nil
	}
	file := os.Getenv("KAPU_USERS")
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "users" {
			file = f.users
		}
	})
	if file == "" {
		a := runner.Account{Username: os.Getenv("KAPU_USERNAME"), Password: os.Getenv("KAPU_PASSWORD"), Name: os.Getenv("KAPU_NAME")}
		if a.Username == "" {
			return nil, nil // flows that take a user say what is missing
		}
		if a.Password == "" || a.Name == "" {
			return nil, errors.New("KAPU_USERNAME is set: set KAPU_PASSWORD and KAPU_NAME too (the full name the IdP greets the user by), or give an account pool with --users FILE")
		}
		return runner.NewPool([]runner.Account{a}), nil
	}
	accounts, err := runner.LoadAccounts(file)
	if err != nil {
		return nil, err
	}
	enrolled := 0
	for _, a := range accounts {
		if a.Enrolled() {
			enrolled++
		}
	}
	fmt.Fprintf(stdout, "kapu: account pool %s: %d accounts (%d enrolled)\n", file, len(accounts), enrolled)
	return runner.NewPool(accounts), nil
}

// defaultWorkers is two flows per core: a flow spends part of each step
// waiting for Chromium (a frame, a navigation), and a second flow per core
// fills that time. Measured on 2 cores (docs/performance.md): 2 workers
// 22.2 s, 3 20.0 s, 4 19.2 s, 5 19.6 s, at the same CPU. At most 16: each
// worker holds a renderer process.
func defaultWorkers(cores int) int { return max(1, min(2*cores, 16)) }

// parseRunFlags reads kapu run's flags. A nil FlagSet means stop with the
// exit code given (--help, or a bad flag already reported).
func parseRunFlags(args []string, stderr io.Writer) (runFlags, *flag.FlagSet, int) {
	var f runFlags
	fs := flag.NewFlagSet("kapu run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.baseURL, "base-url", "", "run against this deployment instead of the bundled mock")
	fs.IntVar(&f.workers, "workers", defaultWorkers(runtime.NumCPU()), "flows at once, each in its own browser context (default: two per core, at most 16)")
	fs.IntVar(&f.retries, "retries", 0, "run a failed flow again up to N times (passing on a retry is flaky)")
	fs.DurationVar(&f.timeout, "timeout", 0, "each step's timeout (default: the flow's, else 10s)")
	fs.DurationVar(&f.flowTimeout, "flow-timeout", 5*time.Minute, "each flow's timeout, beside real clock waits")
	fs.BoolVar(&f.headful, "headful", false, "show the browser window")
	fs.DurationVar(&f.slowMo, "slow-mo", 0, "pause before each action and highlight its element")
	fs.StringVar(&f.chromium, "chromium", "", "the Chromium to start (default: /usr/bin/chromium or on PATH)")
	fs.StringVar(&f.browserURL, "browser-url", "", "attach to a running browser's DevTools endpoint (ws://… or http://…) instead")
	fs.StringVar(&f.users, "users", "testdata/users.json", "seed the bundled mock with these users; with --base-url on a target without the test API: its account pool (`FILE`, the same JSON; default $KAPU_USERS)")
	fs.StringVar(&f.mockAddr, "mock-addr", "127.0.0.1", "`HOST` the bundled mock listens on (only there) and is reached by; HOST:PORT: one mock for the whole run, at a fixed address an app can be configured with")
	f.idp.define(fs)
	fs.StringVar(&f.artifacts, "artifacts", "kapu-results", "directory for failure screenshots")
	fs.BoolVar(&f.allowDestructive, "allow-destructive", false, "on a target without the test API, run flows that lock or end the shared account")
	fs.BoolVar(&f.showSecrets, "show-secrets", false, "do not blur QR codes, keys and codes in screenshots")
	fs.BoolVar(&f.noColor, "no-color", false, "no colours, even on a terminal")
	fs.BoolVar(&f.keyboard, "keyboard", false, "keyboard only: every click becomes Tab to the element and Enter or Space, every fill Tab and typing")
	fs.BoolVar(&f.step, "step", false, "replay step by step: show each step and wait for Enter before it runs (one worker)")
	fs.StringVar(&f.axe, "axe", "", "axe-core's axe.min.js for the axe step (default node_modules/axe-core/axe.min.js)")
	fs.IntVar(&f.skew, "skew", 1, "TOTP skew of the bundled mock")
	fs.StringVar(&f.shard, "shard", "", "run shard `i/n` of the flows (all n shards together run each flow once)")
	fs.StringVar(&f.grep, "grep", "", "run only flows whose name matches this `regexp`")
	fs.StringVar(&f.skip, "skip", "", "leave out flows whose name matches this `regexp`")
	fs.StringVar(&f.junit, "junit", "", "write JUnit XML to `FILE`")
	fs.StringVar(&f.report, "report", "", "write an HTML report with a screenshot of every step to `DIR`")
	fs.BoolVar(&f.failOnFlaky, "fail-on-flaky", false, "exit 1 when a flow passed only on a retry")
	fs.StringVar(&f.results, "results", "", "write the results as data to `DIR` (JSON per flow attempt, pictures as files) for kapu merge")
	fs.BoolVar(&f.lastFailed, "last-failed", false, "run only the flows that failed or were flaky in the last run (its --results DIR, else kapu-results/)")
	fs.Func("break", "", func(s string) error { f.faults = s; return nil }) // hidden: fault injection
	fs.Usage = func() { flagUsage(stderr, fs, "Usage: kapu run [flags] [FILES or DIRS…] (default flows/)") }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, nil, exitOK
		}
		return f, nil, exitUsage
	}
	if f.workers < 1 {
		fmt.Fprintf(stderr, "kapu: --workers %d: want 1 or more\n", f.workers)
		return f, nil, exitUsage
	}
	return f, fs, exitOK
}

// flagUsage prints a command's flags, leaving out the hidden --break.
func flagUsage(w io.Writer, fs *flag.FlagSet, line string) {
	fmt.Fprintln(w, line)
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name != "break" {
			fmt.Fprintf(w, "  --%-18s %s\n", fl.Name, fl.Usage)
		}
	})
}

// runOptions turns the flags into the runner's options.
func runOptions(f runFlags, stdout io.Writer) runner.Options {
	opts := runner.Options{
		Browser:          browser.Options{Path: f.chromium, RemoteURL: f.browserURL, Headful: f.headful, SlowMo: f.slowMo},
		Workers:          f.workers,
		Retries:          f.retries,
		StepTimeout:      f.timeout,
		FlowTimeout:      f.flowTimeout,
		AllowDestructive: f.allowDestructive,
		ShowSecrets:      f.showSecrets,
		Keyboard:         f.keyboard,
		AxePath:          f.axe,
		Screenshots:      f.report != "",
	}
	if f.step {
		opts.Workers = 1
		opts.Pause = stepper(os.Stdin, stdout)
		if f.slowMo == 0 {
			opts.Browser.SlowMo = 300 * time.Millisecond // highlight what each step acts on
		}
	}
	return opts
}

// writeResults writes JUnit and the HTML report, also after a run that
// was cut short; it returns exitFailed if one could not be written.
func writeResults(f runFlags, res *report.Results, stdout, stderr io.Writer) int {
	code := exitOK
	fail := func(flag string, err error) {
		fmt.Fprintf(stderr, "kapu: %s: %v\n", flag, err)
		code = exitFailed
	}
	if f.results != "" {
		if err := report.WriteResults(f.results, res); err != nil {
			fail("--results", err)
		} else {
			fmt.Fprintf(stdout, "results: %s\n", f.results)
		}
	} else if err := report.WriteLastRun(lastRunFile(f), res); err != nil {
		fmt.Fprintf(stderr, "kapu: warning: %v (--last-failed will not know this run)\n", err)
	}
	if f.junit != "" {
		if err := report.WriteJUnitFile(f.junit, res); err != nil {
			fail("--junit", err)
		} else {
			fmt.Fprintf(stdout, "JUnit: %s\n", f.junit)
		}
	}
	if f.report != "" {
		if p, err := report.WriteHTML(f.report, res); err != nil {
			fail("--report", err)
		} else {
			fmt.Fprintf(stdout, "report: %s\n", p)
		}
	}
	return code
}

// stepper pauses before each step: it prints where the step is and what
// it will do, and waits for Enter (q and Enter stops the flow).
func stepper(in io.Reader, out io.Writer) func(context.Context, *flow.Flow, int, flow.Step) error {
	r := bufio.NewReader(in)
	return func(ctx context.Context, f *flow.Flow, i int, s flow.Step) error {
		fmt.Fprintf(out, "  ⏸ next: step %d of %d, %s (%s). Enter runs it, q stops> ", i+1, len(f.Steps), s.Kind(), s.Pos())
		line, err := r.ReadString('\n')
		if strings.TrimSpace(line) == "q" || (err != nil && line == "") {
			return fmt.Errorf("stopped by the reviewer before step %d", i+1)
		}
		return nil
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
