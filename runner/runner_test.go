package runner_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/internal/kaputest"
	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
	"github.com/kapu-dev/kapu/runner"
	"github.com/kapu-dev/kapu/testapi"
)

// mockTargets gives each flow its own mock on loopback.
type mockTargets struct {
	noAPI      bool
	disposable bool // Target.Disposable, like the bundled mock's
}

type users struct{ c *testapi.Client }

func (u users) NewUser(ctx context.Context) (runner.User, error) {
	x, err := u.c.NewUser(ctx)
	return runner.User{Username: x.Username, Password: x.Password, Name: x.Name}, err
}

func (m mockTargets) Target(ctx context.Context, f *flow.Flow) (runner.Target, func(), error) {
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: !m.noAPI, Clock: mockidp.FrozenClock(time.Now().UTC())})
	if err != nil {
		return runner.Target{}, nil, err
	}
	ts := httptest.NewServer(srv)
	api := testapi.New(ts.URL)
	if m.noAPI {
		return runner.Target{BaseURL: ts.URL, Clock: api}, ts.Close, nil
	}
	return runner.Target{BaseURL: ts.URL, Clock: api, Users: users{api}, TestAPI: true, Disposable: m.disposable}, ts.Close, nil
}

func load(t *testing.T, files ...string) []*flow.Flow {
	t.Helper()
	flows, err := flow.Load(files...)
	if err != nil {
		t.Fatal(err)
	}
	return flows
}

// collect runs flows and returns the summary and every event.
func collect(t *testing.T, flows []*flow.Flow, targets runner.Targets, opts runner.Options) (runner.Summary, []runner.Event) {
	t.Helper()
	if opts.Use == nil {
		opts.Use = kaputest.Browser(t) // one Chromium per test binary; skips without it (fails under CI)
	}
	var mu sync.Mutex
	var evs []runner.Event
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := runner.Run(ctx, flows, targets, opts, func(ev runner.Event) {
		mu.Lock()
		evs = append(evs, ev)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum, evs
}

func TestMain(m *testing.M) { kaputest.Main(m) }

func TestRunResults(t *testing.T) {
	t.Parallel()
	flows := load(t, "testdata/pass.yaml", "testdata/fail-expect.yaml", "testdata/missing.yaml", "testdata/noqr.yaml", "testdata/slow.yaml")
	sum, evs := collect(t, flows, mockTargets{}, runner.Options{Workers: 2})
	byName := map[string]*runner.Result{}
	for _, r := range sum.Results {
		byName[r.Flow.Name] = r
	}
	tests := []struct {
		flow   string
		status runner.Status
		err    []string
	}{
		{"átmegy", runner.Passed, nil},
		{"rossz elvárás", runner.Failed, []string{"testdata/fail-expect.yaml:8:5: expect:", `alert: want "Hibás jelszó.", found "Hibás felhasználónév vagy jelszó."`}},
		{"hiányzó elem", runner.Failed, []string{`no "Ügyfélkapu++" on the page`, `nearest: link "Ügyfélkapu+"`, "timed out after 1s"}},
		{"nem QR-kód", runner.Failed, []string{"no QR code could be read"}},
		{"lassú lépés", runner.Failed, []string{"timed out after 500ms", `want "Ez a szöveg sosem jelenik meg" on the page`}},
	}
	for _, tt := range tests {
		r := byName[tt.flow]
		if r == nil {
			t.Errorf("%s: no result", tt.flow)
			continue
		}
		if r.Status != tt.status {
			t.Errorf("%s: %s, want %s (%s)", tt.flow, r.Status, tt.status, r.Err)
		}
		for _, want := range tt.err {
			if !strings.Contains(r.Err, want) {
				t.Errorf("%s: error %q lacks %q", tt.flow, r.Err, want)
			}
		}
	}
	if sum.Passed != 1 || sum.Failed != 4 {
		t.Errorf("summary %d passed %d failed, want 1 and 4", sum.Passed, sum.Failed)
	}
	// A failed step keeps a screenshot, and the steps after it are not run.
	var shot []byte
	for _, ev := range evs {
		if ev.Kind == runner.StepEnd && ev.Status == runner.Failed && ev.Flow.Name == "rossz elvárás" {
			shot = ev.Screenshot
		}
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Errorf("failed step's screenshot: %v", err)
	}
	last := byName["rossz elvárás"].Steps
	if got := last[len(last)-1].Status; got != runner.NotRun {
		t.Errorf("step after the failure: %s, want not run", got)
	}
}

func TestSecretsMasked(t *testing.T) {
	t.Parallel()
	flows := load(t, "../flows/login.yaml")
	var pw []string
	targets := recordingTargets{mockTargets{}, &pw}
	sum, evs := collect(t, flows, targets, runner.Options{Workers: 1, Screenshots: true})
	if sum.Passed != 1 {
		t.Fatalf("login flow: %+v", sum.Results[0])
	}
	for _, ev := range evs {
		for _, p := range pw {
			if strings.Contains(ev.Text, p) || strings.Contains(ev.Err, p) {
				t.Errorf("password in event %q", ev.Text)
			}
		}
		if ev.Kind == runner.StepEnd && strings.Contains(ev.Text, "secret=") && !strings.Contains(ev.Text, "secret=••••") {
			t.Errorf("key in event %q", ev.Text)
		}
		if ev.Kind == runner.StepEnd && strings.HasPrefix(ev.Text, "totp") && !strings.HasSuffix(ev.Text, "= ••••") {
			t.Errorf("code in event %q", ev.Text)
		}
	}
}

// recordingTargets remembers the passwords of the users it makes.
type recordingTargets struct {
	mockTargets
	pw *[]string
}

type recordingUsers struct {
	runner.Users
	pw *[]string
}

func (u recordingUsers) NewUser(ctx context.Context) (runner.User, error) {
	x, err := u.Users.NewUser(ctx)
	*u.pw = append(*u.pw, x.Password)
	return x, err
}

func (r recordingTargets) Target(ctx context.Context, f *flow.Flow) (runner.Target, func(), error) {
	t, rel, err := r.mockTargets.Target(ctx, f)
	t.Users = recordingUsers{t.Users, r.pw}
	return t, rel, err
}

func TestSkippedWithoutTestAPI(t *testing.T) {
	t.Parallel()
	sum, _ := collect(t, load(t, "testdata/needs-api.yaml"), mockTargets{noAPI: true}, runner.Options{})
	if r := sum.Results[0]; r.Status != runner.Skipped || !strings.Contains(r.Reason, "test API") {
		t.Errorf("got %s (%s), want skipped for the test API", r.Status, r.Reason)
	}
}

// fileTargets serves testdata as the target: pages with known faults.
type fileTargets struct{}

func (fileTargets) Target(ctx context.Context, f *flow.Flow) (runner.Target, func(), error) {
	ts := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	return runner.Target{BaseURL: ts.URL, Clock: nil}, ts.Close, nil
}

func TestAxeCatchesMissingLabel(t *testing.T) {
	t.Parallel()
	needAxe(t)
	sum, _ := collect(t, load(t, "testdata/axe-violation.yaml"), fileTargets{}, runner.Options{AxePath: axePath})
	r := sum.Results[0]
	if r.Status != runner.Failed || !strings.Contains(r.Err, "label (critical)") || !strings.Contains(r.Err, "Form elements must have labels — input") {
		t.Errorf("got %s: %q, want a failure naming the label rule and the input", r.Status, r.Err)
	}
}

func TestAxeMissingSaysHowToInstall(t *testing.T) {
	t.Parallel()
	sum, _ := collect(t, load(t, "testdata/axe-violation.yaml"), fileTargets{}, runner.Options{AxePath: "/nonexistent/axe.min.js"})
	if r := sum.Results[0]; !strings.Contains(r.Err, "npm ci") {
		t.Errorf("got %q, want how to install axe-core", r.Err)
	}
}

// flakyTargets serves a page that fails the flow on the first attempt of
// each flow and passes on the next: flaky on purpose.
type flakyTargets struct {
	mu       sync.Mutex
	attempts map[string]int
	always   bool
}

func (ft *flakyTargets) Target(ctx context.Context, f *flow.Flow) (runner.Target, func(), error) {
	ft.mu.Lock()
	ft.attempts[f.Name]++
	n := ft.attempts[f.Name]
	ft.mu.Unlock()
	word := "rendben"
	if n == 1 || ft.always {
		word = "hiba"
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="hu"><title>x</title><h1>%s</h1></html>`, word)
	}))
	return runner.Target{BaseURL: ts.URL}, ts.Close, nil
}

func TestRetriesMarkFlaky(t *testing.T) {
	t.Parallel()
	flows := load(t, "testdata/flaky.yaml")
	sum, evs := collect(t, flows, &flakyTargets{attempts: map[string]int{}}, runner.Options{Retries: 2})
	r := sum.Results[0]
	if r.Status != runner.Flaky || r.Attempts != 2 || len(r.Earlier) != 1 || sum.Flaky != 1 || !sum.OK(false) || sum.OK(true) {
		t.Errorf("got %s after %d attempts (%d earlier failures), want flaky after 2", r.Status, r.Attempts, len(r.Earlier))
	}
	starts := 0
	for _, ev := range evs {
		if ev.Kind == runner.FlowStart {
			starts++
		}
	}
	if starts != 2 {
		t.Errorf("%d attempts started, want 2", starts)
	}
	sum, _ = collect(t, flows, &flakyTargets{attempts: map[string]int{}, always: true}, runner.Options{Retries: 1})
	if r := sum.Results[0]; r.Status != runner.Failed || r.Attempts != 2 || len(r.Earlier) != 1 {
		t.Errorf("always failing: got %s after %d attempts, want failed after 2", r.Status, r.Attempts)
	}
}

// TestEveryStepRuns runs flow/testdata/valid/every-step.yaml against the
// mock: every step kind is executed, and passes.
func TestEveryStepRuns(t *testing.T) {
	t.Parallel()
	needAxe(t)
	flows := load(t, "../flow/testdata/valid/every-step.yaml")
	sum, evs := collect(t, flows, mockTargets{}, runner.Options{Workers: 1, AxePath: axePath})
	if r := sum.Results[0]; r.Status != runner.Passed {
		t.Fatalf("every-step.yaml: %s: %s", r.Status, r.Err)
	}
	ran := map[string]bool{}
	for _, ev := range evs {
		if ev.Kind == runner.StepEnd && ev.Status == runner.Passed {
			ran[ev.Flow.Steps[ev.Index].Kind()] = true
		}
	}
	for _, k := range flow.Kinds() {
		if k.Name != "include" && !ran[k.Name] { // include is expanded when compiled
			t.Errorf("step kind %q never ran", k.Name)
		}
	}
	seen := map[string]bool{}
	for _, s := range flows[0].Steps {
		if e, ok := s.(flow.Expect); ok {
			for _, a := range e.Assertions {
				seen[a.What] = true
			}
		}
	}
	for _, a := range flow.Assertions() {
		if !seen[a[0]] {
			t.Errorf("assertion %q is not in every-step.yaml", a[0])
		}
	}
}

const axePath = "../node_modules/axe-core/axe.min.js"

// needAxe skips without axe-core (npm ci), or fails under CI.
func needAxe(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(axePath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("axe-core not installed (npm ci)")
	}
}

// sharedTarget is one mock that every flow shares, its clock running.
type sharedTarget struct {
	url    string
	api    *testapi.Client
	scopes bool // offer the test API's clock scopes
}

func (s sharedTarget) Target(context.Context, *flow.Flow) (runner.Target, func(), error) {
	t := runner.Target{BaseURL: s.url, Clock: s.api, Users: users{s.api}, TestAPI: true, Shared: true}
	if s.scopes {
		t.Scope = func(name string) runner.Clock { return s.api.Scoped(name) }
		t.ScopeCookie = testapi.ScopeCookie
	}
	return t, func() {}, nil
}

// sharedMock is one mock with the test API on a running clock, as a
// long-running kapu mockidp --test-api.
func sharedMock(t *testing.T) (*mockidp.Server, *httptest.Server) {
	t.Helper()
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts
}

// wantWallClock checks that the IdP clock runs at the wall time.
func wantWallClock(t *testing.T, srv *mockidp.Server, when string) {
	t.Helper()
	if d := srv.Clock().Now().Sub(time.Now()); d > 5*time.Second || d < -5*time.Second || srv.Clock().Frozen() {
		t.Errorf("%s the IdP clock is %v off the wall clock, frozen %v", when, d, srv.Clock().Frozen())
	}
}

// On one shared mock with clock scopes, flows that move the clock run side
// by side, each on its own clock (a DÁP URL its browser made expires when
// its clock moves; the phone is another browser context of the flow), and
// the IdP clock stays as it was. Without scopes they take turns.
func TestClockScopesRunSideBySide(t *testing.T) {
	srv, ts := sharedMock(t)
	flows := load(t, writeFlow(t, `name: saját óra
needs: test-api
before:
  - user: fresh
  - open: /
  - click: DÁP mobilalkalmazás
  - scan: QR-kód
    as: dap
cases:
  - name: egy
    steps:
      - clock: {advance: 2m}
      - device: phone
      - open: "${dap}"
      - expect: {absent: Jóváhagyás}
  - name: kettő
    steps:
      - clock: {advance: 2m}
      - device: phone
      - open: "${dap}"
      - expect: {absent: Jóváhagyás}
`))
	overlapped := func(evs []runner.Event) bool {
		started := 0
		for _, ev := range evs {
			switch ev.Kind {
			case runner.FlowStart:
				started++
			case runner.FlowEnd:
				return started == 2
			}
		}
		return false
	}
	for _, scopes := range []bool{true, false} {
		sum, evs := collect(t, flows, sharedTarget{ts.URL, testapi.New(ts.URL), scopes}, runner.Options{Workers: 2})
		if sum.Passed != 2 {
			t.Fatalf("scopes %v: %+v", scopes, sum)
		}
		if got := overlapped(evs); got != scopes {
			t.Errorf("scopes %v: the two clock-moving flows ran at once: %v", scopes, got)
		}
		wantWallClock(t, srv, fmt.Sprintf("scopes %v: after the flows", scopes))
	}
}

// A flow that moved a shared target's clock puts it back as found: at the
// wall time and running, so no drift is left for the next flow or an app
// that compares the IdP's times with its own clock.
func TestSharedClockRestored(t *testing.T) {
	srv, ts := sharedMock(t)
	flows := load(t, writeFlow(t, `name: az óra
needs: test-api
steps:
  - clock: {advance: 10m}
  - open: /
`))
	sum, _ := collect(t, flows, sharedTarget{ts.URL, testapi.New(ts.URL), false}, runner.Options{Workers: 1})
	if sum.Passed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	wantWallClock(t, srv, "after the flow")
}

func writeFlow(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "flow.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// after: runs whether the steps passed or failed, with what they read; a
// failed teardown fails the flow and names the account; a teardown whose
// variables were never set has nothing to undo and does not run.
func TestTeardown(t *testing.T) {
	t.Parallel()
	flows := load(t, writeFlow(t, `name: teardown
needs: test-api
before:
  - user: fresh
  - open: /
cases:
  - name: a failed step
    steps:
      - set: {nyom: "${user.username}"}
      - expect: {heading: Nincs ilyen címsor}
        timeout: 300ms
  - name: a failed teardown
    steps:
      - set: {nyom: ott}
    after:
      - expect: {heading: Ez sincs}
        timeout: 300ms
  - name: nothing to undo
    steps:
      - expect: {heading: Nincs ilyen címsor}
        timeout: 300ms
      - set: {nyom: soha}
after:
  - open: /sugo
  - expect: {heading: Súgó, no-text: "${nyom}"}
`))
	sum, _ := collect(t, flows, mockTargets{}, runner.Options{Workers: 2})
	byCase := map[string]*runner.Result{}
	for _, r := range sum.Results {
		byCase[r.Flow.Case] = r
	}
	texts := func(r *runner.Result) string {
		var out []string
		for _, s := range r.Steps {
			out = append(out, string(s.Status)+" "+s.Text)
		}
		return strings.Join(out, "\n")
	}
	if r := byCase["a failed step"]; r.Status != runner.Failed || !strings.Contains(texts(r), "passed after: expect heading \"Súgó\"") || strings.Contains(r.Err, "teardown") {
		t.Errorf("after a failed step the teardown did not run (or failed):\n%s\n%s", r.Err, texts(r))
	}
	if r := byCase["a failed teardown"]; r.Status != runner.Failed || !strings.Contains(r.Err, "teardown failed") || !strings.Contains(r.Err, "may be left changed") || !strings.Contains(r.Err, "teszt-") {
		t.Errorf("a failed teardown: %s %q", r.Status, r.Err)
	}
	if r := byCase["nothing to undo"]; !strings.Contains(texts(r), "after: not run: ${nyom} was never set") || strings.Contains(texts(r), "passed after:") {
		t.Errorf("a teardown with nothing to undo ran:\n%s", texts(r))
	}
	// A target that goes away with the flow: nothing to undo either, and
	// the failing teardown is not run to fail.
	sum, _ = collect(t, flows, mockTargets{disposable: true}, runner.Options{Workers: 2})
	for _, r := range sum.Results {
		if !strings.Contains(texts(r), "after: not run: the flow's own mock goes away") || strings.Contains(texts(r), "passed after:") || strings.Contains(r.Err, "teardown") {
			t.Errorf("%s: the teardown ran on a disposable target:\n%s\n%s", r.Flow.Case, r.Err, texts(r))
		}
	}
}

// idpWall is a fake wall clock for a target without the test API: the
// runner waits through it (Real), and it moves the mock's own clock.
type idpWall struct{ c *mockidp.Clock }

func (w idpWall) Now(context.Context) (time.Time, error) { return w.c.Now(), nil }
func (w idpWall) Advance(_ context.Context, d time.Duration) error {
	w.c.Advance(d)
	return nil
}

// poolTarget is one mock without the test API, seeded with the pool's
// accounts, on a fake wall clock.
type poolTarget struct {
	url   string
	clock idpWall
}

func (p poolTarget) Target(context.Context, *flow.Flow) (runner.Target, func(), error) {
	return runner.Target{BaseURL: p.url, Clock: p.clock, Real: true, Shared: true}, func() {}, nil
}

// Against a target without the test API, user steps take accounts of the
// pool, of the kind they ask for; a flow the pool can never serve is
// skipped with the reason; flows that want the one enrolled account take
// turns.
func TestPoolFlows(t *testing.T) {
	t.Parallel()
	accounts := []runner.Account{
		{Username: "kovacs.anna", Password: "Alma-fa-2024", Name: "Kovács Anna"},
		{Username: "szabo.peter", Password: "Korte-fa-2024", Name: "Szabó Péter", Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"},
	}
	var seeds []account.Seed
	for _, a := range accounts {
		seeds = append(seeds, account.Seed{Username: a.Username, Password: a.Password, Name: a.Name, Secret: a.Secret})
	}
	clk := mockidp.FrozenClock(time.Now().UTC())
	srv, err := mockidp.New(mockidp.Options{Skew: 1, Users: seeds, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	plus := `steps:
  - user: enrolled
  - open: /
  - click: Ügyfélkapu+
  - fill: {Felhasználónév: "${user.username}", Jelszó: "${user.password}"}
  - click: Bejelentkezés
  - totp: user.secret
    as: code
  - fill: {6 jegyű kód: "${code}"}
  - click: Bejelentkezés
  - expect: {heading: Sikeres bejelentkezés, text: "${user.name}"}
`
	flows := load(t,
		writeFlow(t, "name: első\n"+plus),
		writeFlow(t, "name: második\n"+plus),
		writeFlow(t, "name: kettő kellene\nsteps:\n  - user: enrolled\n  - user: enrolled\n    as: masik\n"),
		writeFlow(t, `name: jelszóval
steps:
  - user: fresh
  - open: /
  - click: Ügyfélkapu
  - fill: {Felhasználónév: "${user.username}", Jelszó: "${user.password}"}
  - click: Bejelentkezés
  - expect: {text: "${user.name}"}
`))
	sum, _ := collect(t, flows, poolTarget{ts.URL, idpWall{clk}}, runner.Options{Workers: 3, Pool: runner.NewPool(accounts)})
	for _, r := range sum.Results {
		switch r.Flow.Name {
		case "kettő kellene":
			if r.Status != runner.Skipped || !strings.Contains(r.Reason, "needs 2 enrolled accounts") {
				t.Errorf("%s: %s %q", r.Flow.Name, r.Status, r.Reason)
			}
		default:
			if r.Status != runner.Passed {
				t.Errorf("%s: %s %s", r.Flow.Name, r.Status, r.Err)
			}
		}
	}
}

// meetingWall is a fake wall clock whose waits wait for each other: a
// wait of a second or more returns once another flow waits too (or after
// 5 s), so the most waits at once shows whether waiting flows overlap.
type meetingWall struct {
	idpWall
	mu       sync.Mutex
	in, most int
	met      chan struct{}
	closed   bool
}

func (w *meetingWall) Advance(ctx context.Context, d time.Duration) error {
	if d < time.Second {
		return w.idpWall.Advance(ctx, d)
	}
	w.mu.Lock()
	w.in++
	w.most = max(w.most, w.in)
	if w.in == 2 && !w.closed {
		close(w.met)
		w.closed = true
	}
	w.mu.Unlock()
	select {
	case <-w.met:
	case <-time.After(5 * time.Second):
	}
	w.mu.Lock()
	w.in--
	w.mu.Unlock()
	return nil
}

type meetingTarget struct {
	url string
	w   *meetingWall
}

func (m meetingTarget) Target(context.Context, *flow.Flow) (runner.Target, func(), error) {
	return runner.Target{BaseURL: m.url, Clock: m.w, Real: true, Shared: true}, func() {}, nil
}

// On the wall clock, a flow waiting for a boundary is not a busy worker:
// with one worker, two flows that each wait 30 s wait at the same time.
func TestWaitsOverlap(t *testing.T) {
	t.Parallel()
	srv, err := mockidp.New(mockidp.Options{Skew: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	src := "steps:\n  - open: /\n  - clock: {advance: 30s}\n  - expect: {heading: Bejelentkezés}\n"
	flows := load(t, writeFlow(t, "name: egy\n"+src), writeFlow(t, "name: kettő\n"+src))
	w := &meetingWall{idpWall: idpWall{srv.Clock()}, met: make(chan struct{})}
	sum, _ := collect(t, flows, meetingTarget{ts.URL, w}, runner.Options{Workers: 1})
	if sum.Passed != 2 {
		t.Fatalf("%+v", sum.Results)
	}
	if w.most != 2 {
		t.Errorf("with one worker, at most %d flows waited at once; want 2", w.most)
	}
}
