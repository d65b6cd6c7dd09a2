package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
)

// period is the TOTP step of SPEC §2; boundary moves are on it.
const period = 30 * time.Second

// locator turns a flow target into a browser locator, expanding variables.
func (fr *flowRun) locator(t flow.Target) (browser.Locator, error) {
	name, _, err := fr.expand(t.Value)
	if err != nil {
		return browser.Locator{}, err
	}
	l := browser.Locator{Name: name, Exact: t.Exact, Roles: t.Roles}
	switch t.By {
	case flow.ByName:
		l.By = browser.ByRole
	case flow.ByLabel:
		l.By = browser.ByLabel
	case flow.ByText:
		l.By = browser.ByText
	case flow.ByCSS:
		l.By = browser.ByCSS
	}
	if t.By == flow.ByName && !t.Explicit {
		l.Desc = fmt.Sprintf("%q", name) // the step's default roles: not worth a list
	}
	return l, nil
}

// realWait is how long a step may wait for the wall clock, beyond its
// timeout: a real 30 s boundary is not a slow page.
func (fr *flowRun) realWait(ctx context.Context, s flow.Step) time.Duration {
	if !fr.t.Real {
		return 0
	}
	switch s := s.(type) {
	case flow.Clock:
		return s.D + period + time.Second
	case flow.TOTP:
		return period + time.Second
	case flow.Wait:
		return s.D
	}
	return 0
}

// exec runs one step and returns what it did, for the live line. Each
// kind has its own method: actions.go (the page), expect.go, keys.go
// (scan, totp, clock), flowsteps.go (read, wait, set, device…), and
// user and axe below.
func (fr *flowRun) exec(ctx context.Context, s flow.Step) (string, error) {
	switch s := s.(type) {
	case flow.Open:
		return fr.open(ctx, s)
	case flow.Click:
		return fr.click(ctx, s)
	case flow.Fill:
		return fr.fill(ctx, s)
	case flow.Check:
		return fr.setChecked(ctx, s)
	case flow.Press:
		return fr.press(ctx, s)
	case flow.Type:
		return fr.typeText(ctx, s)
	case flow.Focus:
		return fr.focus(ctx, s)
	case flow.TabTo:
		return fr.tabTo(ctx, s)
	case flow.Expect:
		return fr.expect(ctx, s)
	case flow.Scan:
		return fr.scan(ctx, s)
	case flow.Read:
		return fr.read(ctx, s)
	case flow.TOTP:
		return fr.totp(ctx, s)
	case flow.Clock:
		return fr.clock(ctx, s)
	case flow.Wait:
		return fr.wait(ctx, s)
	case flow.User:
		return fr.user(ctx, s)
	case flow.Set:
		return fr.setVars(ctx, s)
	case flow.Screenshot:
		return fr.screenshot(ctx, s)
	case flow.Axe:
		return fr.axe(ctx, s)
	case flow.Device:
		return fr.device(ctx, s)
	}
	return "", fmt.Errorf("kapu bug: no runner for %T", s) // a test covers every kind
}

func (fr *flowRun) user(ctx context.Context, s flow.User) (string, error) {
	var u User
	var a Account
	pooled := len(fr.accounts) > 0
	if pooled {
		a, fr.accounts = fr.accounts[0], fr.accounts[1:]
	}
	switch {
	case fr.t.Users != nil:
		var err error
		if u, err = fr.t.Users.NewUser(ctx); err != nil {
			return "user fresh", fmt.Errorf("make a user through the test API: %w", err)
		}
	case pooled:
		u = User{Username: a.Username, Password: a.Password, Name: a.Name}
	case s.Enrolled:
		return "user enrolled", errors.New("an enrolled account comes from an account pool (--users FILE, KAPU_USERS) with its secret")
	default:
		var err error
		if u, err = fr.envUser(s); err != nil {
			return "user from the environment", err
		}
	}
	fr.users = append(fr.users, u.Username)
	fr.set(s.As, u.Username, false)
	fr.set(s.As+".username", u.Username, false)
	fr.set(s.As+".password", u.Password, true)
	fr.set(s.As+".name", u.Name, false)
	kind := ""
	if pooled && a.Enrolled() {
		kind = ", enrolled"
		fr.set(s.As+".secret", a.Secret, true)
		if a.Recovery != "" {
			fr.set(s.As+".recovery", a.Recovery, true)
		}
	}
	return fmt.Sprintf("user %s = %s (%s%s)", s.As, u.Username, u.Name, kind), nil
}

// envUser is the pool of one of KAPU_USERNAME, KAPU_PASSWORD, KAPU_NAME.
func (fr *flowRun) envUser(s flow.User) (User, error) {
	if s.As != "user" {
		return User{}, fmt.Errorf("a second user (%s) needs the test API or an account pool (--users)", s.As)
	}
	get := fr.r.opts.Getenv
	u := User{Username: get("KAPU_USERNAME"), Password: get("KAPU_PASSWORD"), Name: get("KAPU_NAME")}
	var missing []string
	for k, v := range map[string]string{"KAPU_USERNAME": u.Username, "KAPU_PASSWORD": u.Password, "KAPU_NAME": u.Name} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return u, fmt.Errorf("the target has no test API: give an account pool (--users FILE) or set %s (the user's login and the full name the IdP greets them by)", strings.Join(missing, ", "))
	}
	return u, nil
}

// axe checks the page with axe-core: a violation fails the step, an
// undecided rule is a warning for reviewers, and there must be one h1.
func (fr *flowRun) axe(ctx context.Context, s flow.Axe) (string, error) {
	src, err := fr.r.axe()
	if err != nil {
		return "axe", err
	}
	res, err := fr.tab.Axe(ctx, src, s.Ignore)
	if err != nil {
		return "axe", err
	}
	text := fmt.Sprintf("axe: %d violations, %d to review, %d h1", len(res.Violations), len(res.Incomplete), res.H1)
	for _, i := range res.Incomplete {
		fr.warnings = append(fr.warnings, "to review: "+i.String())
	}
	var problems []string
	for _, v := range res.Violations {
		problems = append(problems, v.String())
	}
	if res.H1 != 1 {
		problems = append(problems, fmt.Sprintf("page-has-one-h1: want exactly one visible h1, found %d", res.H1))
	}
	if len(problems) > 0 {
		return text, fmt.Errorf("%d accessibility problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return text, nil
}

// shown is how a target reads in a live line: the roles only when the
// flow named them.
func shown(l browser.Locator) string { return l.String() }

// describe is a step's text before it runs (for steps never run).
func describe(s flow.Step) string { return s.Kind() + " (" + s.Pos().String() + ")" }
