package runner

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/otpauth"
)

// flowRun is one attempt of one flow: its tab, target and variables.
type flowRun struct {
	r       *run
	f       *flow.Flow
	t       Target
	tab     *browser.Tab            // the current device's
	tabs    map[string]*browser.Tab // by device name; "main" first
	attempt int

	vars       map[string]string // name, and name.field for users
	secretVars map[string]bool
	secretLocs []browser.Locator // elements that show secrets: blurred in screenshots
	warnings   []string          // of the step being run
	users      []string          // the accounts the flow took, for a failed teardown's message
	after      bool              // the teardown is running
	accounts   []Account         // taken from the pool, for the user steps in order
	states     map[string]bool   // page structures seen (tabOrderKey): Tab order once each
	last       struct {          // the report's picture of the last step that took one
		thumb []byte
		tree  []AXLine
		focus string
	}
}

// passive tells whether a step leaves the page as it was: it reads or
// checks it, or works on variables and the IdP.
func passive(s flow.Step) bool {
	switch s.(type) {
	case flow.Expect, flow.Scan, flow.Read, flow.TOTP, flow.Clock, flow.User, flow.Set:
		return true
	}
	return false
}

// clockKeeper is a shared target's clock that can be put back as it was
// found after a flow moved it (testapi.Client).
type clockKeeper interface {
	Keep(ctx context.Context) (restore func(context.Context) error, err error)
}

// claim takes what f needs of its target before it runs: the accounts of
// the pool, and the target's clock (alone when f moves a shared one, put
// back after). done gives them back.
func (r *run) claim(ctx context.Context, f *flow.Flow, t *Target) (accounts []Account, done func(), err error) {
	var undo []func()
	done = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if needs := poolNeeds(f); t.Users == nil && r.opts.Pool != nil && len(needs) > 0 {
		// Waiting for accounts is not work: the slot goes to others meanwhile
		// (the flow holding the account may need one to finish).
		r.slots.release()
		got, give, err := r.opts.Pool.take(ctx, needs)
		if aerr := r.slots.acquire(context.WithoutCancel(ctx), true); err == nil {
			err = aerr
		}
		if err != nil {
			return nil, done, err
		}
		undo, accounts = append(undo, give), got
	}
	if t.Real {
		t.Clock = idleClock{t.Clock, r.slots} // a real wait frees the worker
	}
	alone := t.Shared && !t.Real && movesClock(f)
	if alone && t.Scope != nil { // a clock of its own: no turns, nothing to put back
		t.ClockScope = "kapu-" + rand.Text()
		t.Clock = t.Scope(t.ClockScope)
		// The scope is made now (a first reading), before any page the flow
		// opens can start something on the IdP clock instead.
		if _, err := t.Clock.Now(ctx); err != nil {
			return nil, done, fmt.Errorf("make the flow's clock scope: %w", err)
		}
		alone = false
	}
	if !alone {
		r.shared.RLock()
		undo = append(undo, r.shared.RUnlock)
		return accounts, done, nil
	}
	r.shared.Lock() // alone: it moves the IdP clock every flow sees
	undo = append(undo, r.shared.Unlock)
	if k, ok := t.Clock.(clockKeeper); ok {
		if restore, err := k.Keep(ctx); err == nil {
			undo = append(undo, func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				restore(rctx)
			})
		}
	}
	return accounts, done, nil
}

// attempt runs f once and returns its status, the failure and, for a
// skip, the reason.
func (r *run) attempt(ctx context.Context, f *flow.Flow, attempt int) (Status, string, string, []StepResult) {
	t, release, err := r.targets.Target(ctx, f)
	if err != nil {
		r.emit(Event{Kind: FlowStart, Flow: f, Attempt: attempt})
		return Failed, r.mask.mask("target: " + err.Error()), "", nil
	}
	defer release()
	if why := r.skipReason(f, t); why != "" {
		return Skipped, "", why, nil
	}
	accounts, done, err := r.claim(ctx, f, &t)
	if err != nil {
		return Failed, err.Error(), "", nil
	}
	defer done()
	r.emit(Event{Kind: FlowStart, Flow: f, Attempt: attempt})
	limit := r.opts.FlowTimeout
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	fctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	fr := &flowRun{r: r, f: f, t: t, attempt: attempt, vars: map[string]string{}, secretVars: map[string]bool{}, accounts: accounts}
	tab, err := fr.newTab(fctx)
	if err != nil {
		return Failed, r.mask.mask(err.Error()), "", nil
	}
	fr.tab, fr.tabs = tab, map[string]*browser.Tab{"main": tab}
	defer func() {
		for _, t := range fr.tabs {
			t.Close()
		}
	}()
	var steps []StepResult
	for _, v := range f.Vars {
		val, secret, err := fr.expand(v.Value)
		if err != nil {
			msg := fmt.Sprintf("%s: vars.%s: %v", v.At, v.Name, err)
			return Failed, r.mask.mask(msg), "", nil
		}
		fr.set(v.Name, val, secret || v.Secret)
	}
	status, msg := Passed, ""
	for i, s := range f.Steps {
		res := fr.step(fctx, i, s)
		steps = append(steps, res)
		if res.Status == Failed {
			for j := i + 1; j < len(f.Steps); j++ {
				steps = append(steps, StepResult{Text: describe(f.Steps[j]), Status: NotRun})
			}
			status, msg = Failed, res.Err
			break
		}
	}
	if len(f.After) > 0 {
		after, why := fr.teardown(ctx, limit)
		steps = append(steps, after...)
		if why != "" {
			status, msg = Failed, strings.TrimPrefix(msg+"; "+why, "; ")
		}
	}
	return status, msg, "", steps
}

// teardown runs the flow's after steps, passed or failed, on a clock of
// their own: a flow that ran out of time still undoes what it did. It is
// skipped when the flow never set a variable it needs, or when the target
// goes away with the flow (nothing to undo). A failure says which
// accounts may be left changed.
func (fr *flowRun) teardown(ctx context.Context, limit time.Duration) ([]StepResult, string) {
	if fr.t.Disposable {
		return []StepResult{{Text: "after: not run: the flow's own mock goes away with what it changed", Status: NotRun}}, ""
	}
	for _, name := range fr.f.AfterNeeds {
		if _, ok := fr.vars[name]; !ok {
			return []StepResult{{Text: "after: not run: ${" + name + "} was never set, so there is nothing to undo", Status: NotRun}}, ""
		}
	}
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	fr.after = true
	defer func() { fr.after = false }()
	var out []StepResult
	for j, s := range fr.f.After {
		res := fr.step(tctx, len(fr.f.Steps)+j, s)
		out = append(out, res)
		if res.Status != Failed {
			continue
		}
		for _, rest := range fr.f.After[j+1:] {
			out = append(out, StepResult{Text: "after: " + describe(rest), Status: NotRun})
		}
		who := "the flow's accounts"
		if len(fr.users) > 0 {
			who = "the account " + strings.Join(fr.users, ", ")
		}
		return out, fmt.Sprintf("teardown failed: %s; %s may be left changed", res.Err, who)
	}
	return out, ""
}

// newTab opens a tab (a device) of the flow, on the flow's clock scope
// when it has one.
func (fr *flowRun) newTab(ctx context.Context) (*browser.Tab, error) {
	t, err := fr.r.tab(ctx)
	if err != nil || fr.t.ClockScope == "" {
		return t, err
	}
	if err := t.SetCookie(ctx, fr.t.BaseURL, fr.t.ScopeCookie, fr.t.ClockScope); err != nil {
		t.Close()
		return nil, fmt.Errorf("put the tab on the flow's clock: %w", err)
	}
	return t, nil
}

func (fr *flowRun) set(name, val string, secret bool) {
	fr.vars[name] = val
	fr.secretVars[name] = secret
	if secret {
		fr.r.mask.add(val)
	}
}

// step runs one step under its timeout and reports it.
func (fr *flowRun) step(ctx context.Context, i int, s flow.Step) StepResult {
	if fr.r.opts.Pause != nil {
		// Replay for reviewers: say what comes next and wait for them.
		fr.r.flushEvents()
		if err := fr.r.opts.Pause(ctx, fr.f, i, s); err != nil {
			return StepResult{Text: describe(s), Status: Failed, Err: err.Error()}
		}
	}
	start := time.Now()
	d := fr.f.Timeout
	if fr.r.opts.StepTimeout > 0 {
		d = fr.r.opts.StepTimeout
	}
	if b := s.Base(); b.Timeout > 0 {
		d = b.Timeout
	}
	sctx, cancel := context.WithTimeout(ctx, d+fr.realWait(ctx, s))
	defer cancel()
	fr.warnings = nil
	text, err := fr.exec(sctx, s)
	// The step's own deadline (a call may see it a moment before sctx does).
	if err != nil && ctx.Err() == nil && (errors.Is(sctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)) {
		err = fmt.Errorf("timed out after %s: %w", d, err)
	}
	if fr.after {
		text = "after: " + text
	}
	res := StepResult{Text: fr.r.mask.mask(text), Status: Passed, Took: time.Since(start)}
	for _, w := range fr.warnings {
		res.Warnings = append(res.Warnings, fr.r.mask.mask(w))
	}
	ev := Event{Kind: StepEnd, Flow: fr.f, Attempt: fr.attempt, Index: i, Text: res.Text, Status: Passed, Warnings: res.Warnings}
	if err != nil {
		res.Status = Failed
		res.Err = fr.r.mask.mask(fmt.Sprintf("%s: %s: %v", s.Pos(), s.Kind(), err))
		ev.Status, ev.Err = Failed, res.Err
	}
	ev.Took = time.Since(start) // the step's own time, not the report's pictures
	res.Took = ev.Took
	if err != nil || fr.r.opts.Screenshots {
		if err == nil && passive(s) && fr.last.thumb != nil {
			// The page is as the step before left it: its picture again (a
			// blinking caret would make a new one that looks the same).
			ev.Thumb, ev.Tree, ev.Focus = fr.last.thumb, fr.last.tree, fr.last.focus
		} else {
			ev.Screenshot, ev.Thumb, ev.Tree, ev.Focus = fr.capture(ctx, err != nil)
			fr.last.thumb, fr.last.tree, fr.last.focus = ev.Thumb, ev.Tree, ev.Focus
			if fr.r.opts.Screenshots {
				ev.TabOrder = fr.tabOrder(ctx, ev.Tree)
			}
		}
	}
	fr.r.emit(ev)
	return res
}

// capture takes, with the secrets blurred, a full screenshot of a failed
// step, and for the report a small one of every step with the page's
// accessibility tree and focus.
func (fr *flowRun) capture(ctx context.Context, failed bool) (shot, thumb []byte, tree []AXLine, focus string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// A page may show a secret before any step has read it (the key on
	// the enrollment page, before the scan): harvest what the screen
	// contract says is secret first, so that it is masked and blurred.
	tree, els := fr.harvest(cctx)
	if !fr.r.opts.ShowSecrets {
		undo := fr.tab.Blur(cctx, els, fr.r.mask.list())
		defer undo()
	}
	if failed {
		shot, _ = fr.tab.Screenshot(cctx)
	}
	if !fr.r.opts.Screenshots {
		return shot, nil, nil, ""
	}
	thumb, _ = fr.tab.Thumbnail(cctx, 0.5, 55)
	for i := range tree {
		tree[i].Name = fr.r.mask.mask(tree[i].Name)
		tree[i].Value = fr.r.mask.mask(tree[i].Value)
	}
	if f, err := fr.tab.FocusedElement(cctx); err == nil {
		focus = fr.r.mask.mask(f)
	}
	return shot, thumb, tree, focus
}

// tabOrder is the page's Tab order when the page's structure is new in
// this flow, for reviewers; nil otherwise.
func (fr *flowRun) tabOrder(ctx context.Context, tree []AXLine) []TabStop {
	key := tabOrderKey(tree)
	if fr.states == nil {
		fr.states = map[string]bool{}
	}
	if len(tree) == 0 || fr.states[key] {
		return nil
	}
	fr.states[key] = true
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	stops, err := fr.tab.TabOrder(cctx)
	if err != nil {
		return nil
	}
	for i := range stops {
		stops[i].Name = fr.r.mask.mask(stops[i].Name)
	}
	return stops
}

// tabOrderKey is what the Tab order of a page depends on, as the tree
// shows it: its elements, their names and states (disabled, checked…),
// in order. What a field holds and where the focus is are left out: the
// Tab order (browser.TabOrder) goes through the page from its start
// whatever they are, so a step that only types or moves the focus does
// not list the same stops again (a --report run of flows/: 306 Tab
// orders instead of 531).
func tabOrderKey(tree []AXLine) string {
	var key strings.Builder
	for _, l := range tree {
		l.Value, l.Focused = "", false
		key.WriteString(l.String() + "\n")
	}
	return key.String()
}

// secretLoc records an element that shows a secret, to blur in every
// picture after; each locator once (a flow may type its password often).
func (fr *flowRun) secretLoc(l browser.Locator) {
	same := func(o browser.Locator) bool {
		return o.By == l.By && o.Name == l.Name && o.Exact == l.Exact && slices.Equal(o.Roles, l.Roles)
	}
	if !slices.ContainsFunc(fr.secretLocs, same) {
		fr.secretLocs = append(fr.secretLocs, l)
	}
}

// secretNames are the accessible names that the screen contract gives to
// elements that show a secret: the QR code, the manual key, the törlőkód.
var secretNames = []string{"QR-kód", "Kulcs kézi megadáshoz", "Törlőkód"}

// harvest adds to the masker the secrets the page shows by the screen
// contract (the elements named in secretNames, otpauth links), and
// returns the page's accessibility tree (not yet masked) and the elements
// to blur: those and what the flow's own secret steps found, all from one
// reading of the tree (those by text or CSS looked up on their own).
func (fr *flowRun) harvest(ctx context.Context) ([]AXLine, []browser.Element) {
	tree, out, _ := fr.tab.TreeFind(ctx, secretNames, fr.secretLocs)
	for _, el := range out {
		if slices.Contains(secretNames, el.Name) && el.Role != "image" && el.Role != "img" {
			if v, err := fr.tab.ReadElement(ctx, el, ""); err == nil {
				fr.r.mask.add(v)
			}
		}
	}
	for _, l := range fr.secretLocs {
		if l.By != browser.ByText && l.By != browser.ByCSS {
			continue // found above
		}
		if els, err := fr.tab.Find(ctx, l); err == nil {
			out = append(out, els...)
		}
	}
	if links, err := fr.tab.Evaluate(ctx, `Array.from(document.querySelectorAll('a[href^="otpauth:" i]'), a => a.getAttribute("href"))`); err == nil {
		var hrefs []string
		json.Unmarshal(links, &hrefs)
		for _, h := range hrefs {
			if k, err := otpauth.Parse(h); err == nil {
				fr.r.mask.add(k.Secret)
			}
		}
	}
	return tree, out
}

// resolve makes a URL of an open step's value: paths are relative to the
// target's base URL.
func (fr *flowRun) resolve(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("bad URL %q: %w", s, err)
	}
	if u.IsAbs() {
		return s, nil
	}
	b, err := url.Parse(strings.TrimRight(fr.t.BaseURL, "/") + "/")
	if err != nil {
		return "", err
	}
	return b.ResolveReference(&url.URL{Path: strings.TrimPrefix(u.Path, "/"), RawQuery: u.RawQuery, Fragment: u.Fragment}).String(), nil
}
