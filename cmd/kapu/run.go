package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/clock"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
	"github.com/kapu-dev/kapu/report"
	"github.com/kapu-dev/kapu/runner"
	"github.com/kapu-dev/kapu/testapi"
)

type runFlags struct {
	baseURL, chromium, browserURL, users, artifacts, mockAddr, axe string
	workers, retries, skew                                         int
	timeout, flowTimeout, slowMo                                   time.Duration
	headful, allowDestructive, showSecrets, noColor, keyboard      bool
	step                                                           bool
	faults, shard, grep, skip, junit, report                       string
	failOnFlaky                                                    bool
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f runFlags
	fs := flag.NewFlagSet("kapu run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.baseURL, "base-url", "", "run against this deployment instead of the bundled mock")
	fs.IntVar(&f.workers, "workers", max(1, runtime.NumCPU()), "flows at once, each in its own browser context")
	fs.IntVar(&f.retries, "retries", 0, "run a failed flow again up to N times (passing on a retry is flaky)")
	fs.DurationVar(&f.timeout, "timeout", 0, "each step's timeout (default: the flow's, else 10s)")
	fs.DurationVar(&f.flowTimeout, "flow-timeout", 5*time.Minute, "each flow's timeout, beside real clock waits")
	fs.BoolVar(&f.headful, "headful", false, "show the browser window")
	fs.DurationVar(&f.slowMo, "slow-mo", 0, "pause before each action and highlight its element")
	fs.StringVar(&f.chromium, "chromium", "", "the Chromium to start (default: /usr/bin/chromium or on PATH)")
	fs.StringVar(&f.browserURL, "browser-url", "", "attach to a running browser's DevTools endpoint (ws://… or http://…) instead")
	fs.StringVar(&f.users, "users", "testdata/users.json", "seed the bundled mock with these users")
	fs.StringVar(&f.mockAddr, "mock-addr", "127.0.0.1", "host the bundled mock listens on and is reached by")
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
	fs.Func("break", "", func(s string) error { f.faults = s; return nil }) // hidden: fault injection
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: kapu run [flags] [FILES or DIRS…] (default flows/)")
		fs.VisitAll(func(fl *flag.Flag) {
			if fl.Name != "break" {
				fmt.Fprintf(stderr, "  --%-18s %s\n", fl.Name, fl.Usage)
			}
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	flows, err := loadFlows(fs.Args(), stderr)
	if err != nil {
		return exitUsage
	}
	if flows, err = selectFlows(flows, f.grep, f.skip, f.shard); err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return exitUsage
	}
	if f.workers < 1 {
		fmt.Fprintf(stderr, "kapu: --workers %d: want 1 or more\n", f.workers)
		return exitUsage
	}
	targets, err := newTargets(ctx, f, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return exitUsage
	}
	defer targets.close()

	tty := isTerminal(stdout) && !f.noColor && os.Getenv("NO_COLOR") == "" && os.Getenv("CI") == ""
	live := report.NewLive(stdout, tty, f.workers > 1 && len(flows) > 1)
	fails := &failureShots{dir: f.artifacts, w: stdout}
	var html *report.HTML
	if f.report != "" {
		html = report.NewHTML()
	}
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
	if f.browserURL == "" {
		dir, done, err := startReaper()
		if err != nil {
			fmt.Fprintf(stderr, "kapu: %v\n", err)
			return exitUsage
		}
		defer done()
		opts.Browser.ProfileDir = dir
	}
	if f.step {
		opts.Workers = 1
		opts.Pause = stepper(os.Stdin, stdout)
		if f.slowMo == 0 {
			opts.Browser.SlowMo = 300 * time.Millisecond // highlight what each step acts on
		}
	}
	started := time.Now()
	fmt.Fprintf(stdout, "kapu: %d flows against %s, %d workers\n", len(flows), targets.describe(), opts.Workers)
	sum, err := runner.Run(ctx, flows, targets, opts, func(ev runner.Event) {
		live.Event(ev)
		fails.Event(ev)
		if html != nil {
			html.Event(ev)
		}
	})
	if err != nil && len(sum.Results) == 0 {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return exitUsage
	}
	live.Summary(sum)
	code := exitOK
	if !sum.OK(f.failOnFlaky) {
		code = exitFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		code = exitFailed
	}
	// The results are written even when the run was cut short.
	if f.junit != "" {
		if werr := writeJUnit(f.junit, sum, started); werr != nil {
			fmt.Fprintf(stderr, "kapu: --junit: %v\n", werr)
			code = max(code, exitFailed)
		} else {
			fmt.Fprintf(stdout, "JUnit: %s\n", f.junit)
		}
	}
	if html != nil {
		if p, werr := html.Write(f.report, sum, started); werr != nil {
			fmt.Fprintf(stderr, "kapu: --report: %v\n", werr)
			code = max(code, exitFailed)
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

func writeJUnit(path string, sum runner.Summary, started time.Time) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteJUnit(w, sum, started); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// selectFlows keeps the flows that --grep and --skip leave, then this
// shard's share: flows sorted by file and name, every n-th from i.
func selectFlows(flows []*flow.Flow, grep, skip, shard string) ([]*flow.Flow, error) {
	var keep, drop *regexp.Regexp
	var err error
	if grep != "" {
		if keep, err = regexp.Compile(grep); err != nil {
			return nil, fmt.Errorf("--grep: %w", err)
		}
	}
	if skip != "" {
		if drop, err = regexp.Compile(skip); err != nil {
			return nil, fmt.Errorf("--skip: %w", err)
		}
	}
	var out []*flow.Flow
	for _, fl := range flows {
		if (keep == nil || keep.MatchString(fl.Name)) && (drop == nil || !drop.MatchString(fl.Name)) {
			out = append(out, fl)
		}
	}
	if shard != "" {
		var i, n int
		if _, err := fmt.Sscanf(shard, "%d/%d", &i, &n); err != nil || n < 1 || i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != shard {
			return nil, fmt.Errorf("--shard %q: want i/n with 1 ≤ i ≤ n, such as 2/3", shard)
		}
		slices.SortStableFunc(out, func(a, b *flow.Flow) int {
			return cmp.Or(strings.Compare(a.File, b.File), strings.Compare(a.Name, b.Name))
		})
		var mine []*flow.Flow
		for k, fl := range out {
			if k%n == i-1 {
				mine = append(mine, fl)
			}
		}
		out = mine
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no flows left to run after --grep, --skip and --shard")
	}
	return out, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// failureShots keeps the screenshot of each failed step on disk.
type failureShots struct {
	dir string
	w   io.Writer
}

var unsafeName = regexp.MustCompile(`[^\p{L}\p{N}._-]+`)

func (s *failureShots) Event(ev runner.Event) {
	if ev.Kind != runner.StepEnd || ev.Status != runner.Failed || len(ev.Screenshot) == 0 || s.dir == "" {
		return
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		fmt.Fprintf(s.w, "    (no screenshot kept: %v)\n", err)
		return
	}
	name := unsafeName.ReplaceAllString(ev.Flow.Name, "-") + "-" + strconv.Itoa(ev.Attempt) + ".png"
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, ev.Screenshot, 0o644); err != nil {
		fmt.Fprintf(s.w, "    (no screenshot kept: %v)\n", err)
		return
	}
	fmt.Fprintf(s.w, "    screenshot: %s\n", p)
}

// targets gives each flow its target: with the bundled mock, a fresh
// in-process mock per flow so that parallel flows never move each other's
// clock; with --base-url, the one deployment.
type targets struct {
	base    string
	bundled bool
	opts    mockidp.Options
	host    string
	api     *testapi.Client
}

func newTargets(ctx context.Context, f runFlags, stderr io.Writer) (*targets, error) {
	t := &targets{host: f.mockAddr}
	if f.baseURL == "" {
		t.bundled = true
		faults, err := account.ParseFaults(f.faults, mockidp.Faults())
		if err != nil {
			return nil, fmt.Errorf("--break: %w", err)
		}
		t.opts = mockidp.Options{Skew: f.skew, TestAPI: true, Faults: faults, Host: f.mockAddr}
		if f.users != "" {
			users, err := mockidp.LoadUsers(f.users)
			if err != nil && !(errors.Is(err, os.ErrNotExist) && f.users == "testdata/users.json") {
				return nil, err
			}
			t.opts.Users = users
		}
		if _, err := mockidp.New(t.opts); err != nil {
			return nil, err
		}
		return t, nil
	}
	if !strings.HasPrefix(f.baseURL, "http://") && !strings.HasPrefix(f.baseURL, "https://") {
		return nil, fmt.Errorf("--base-url %q: want http:// or https://", f.baseURL)
	}
	t.base = strings.TrimRight(f.baseURL, "/")
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, t.base+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("target %s is unreachable: %w", t.base, err)
	}
	res.Body.Close()
	api := testapi.New(t.base)
	if ok, _ := api.Probe(pctx); ok {
		t.api = api
	} else {
		fmt.Fprintf(stderr, "kapu: %s has no test API: real 30 s waits, users from KAPU_USERNAME/KAPU_PASSWORD/KAPU_NAME\n", t.base)
	}
	return t, nil
}

func (t *targets) describe() string {
	if t.bundled {
		return "the bundled mock (one per flow, test API on, frozen clock)"
	}
	if t.api != nil {
		return t.base + " (test API)"
	}
	return t.base + " (no test API: wall clock)"
}

func (t *targets) close() {}

type apiUsers struct{ c *testapi.Client }

func (u apiUsers) NewUser(ctx context.Context) (runner.User, error) {
	x, err := u.c.NewUser(ctx)
	return runner.User{Username: x.Username, Password: x.Password, Name: x.Name}, err
}

// Target implements runner.Targets.
func (t *targets) Target(ctx context.Context, _ *flow.Flow) (runner.Target, func(), error) {
	if !t.bundled {
		if t.api != nil {
			return runner.Target{BaseURL: t.base, Clock: t.api, Users: apiUsers{t.api}, TestAPI: true, Shared: true}, func() {}, nil
		}
		return runner.Target{BaseURL: t.base, Clock: clock.Wall{}, Real: true, Shared: true}, func() {}, nil
	}
	opts := t.opts
	opts.Clock = mockidp.FrozenClock(time.Now().UTC())
	srv, err := mockidp.New(opts)
	if err != nil {
		return runner.Target{}, nil, err
	}
	// Only on the address given, never on all interfaces: a name is
	// resolved and its address listened on.
	ln, err := net.Listen("tcp", net.JoinHostPort(t.host, "0"))
	if err != nil {
		return runner.Target{}, nil, fmt.Errorf("start the bundled mock on %s: %w", t.host, err)
	}
	hs := mockidp.HTTPServer(srv)
	go hs.Serve(ln)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://" + net.JoinHostPort(t.host, port)
	api := testapi.New(base)
	release := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}
	return runner.Target{BaseURL: base, Clock: api, Users: apiUsers{api}, TestAPI: true}, release, nil
}
