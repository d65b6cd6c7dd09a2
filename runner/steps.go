package runner

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/otpauth"
	"github.com/kapu-dev/kapu/qr"
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

// exec runs one step and returns what it did, for the live line.
func (fr *flowRun) exec(ctx context.Context, s flow.Step) (string, error) {
	tab := fr.tab
	switch s := s.(type) {
	case flow.Open:
		u, _, err := fr.expand(s.URL)
		if err != nil {
			return "open", err
		}
		full, err := fr.resolve(u)
		if err != nil {
			return "open " + u, err
		}
		status, err := tab.Open(ctx, full)
		if status >= 400 {
			return fmt.Sprintf("open %s (HTTP %d)", u, status), err
		}
		return "open " + u, err
	case flow.Click:
		l, err := fr.locator(s.Target)
		if err != nil {
			return "click", err
		}
		if fr.r.opts.Keyboard {
			return "click " + shown(s.Target, l) + " (keyboard)", tab.KeyClick(ctx, l)
		}
		return "click " + shown(s.Target, l), tab.Click(ctx, l)
	case flow.Fill:
		l, err := fr.locator(s.Target)
		if err != nil {
			return "fill", err
		}
		v, secret, err := fr.expand(s.Value)
		if err != nil {
			return "fill " + shown(s.Target, l), err
		}
		if fr.r.opts.Keyboard {
			err = tab.KeyFill(ctx, l, v)
		} else {
			err = tab.Fill(ctx, l, v)
		}
		// What is typed into a password field is a secret, whatever the
		// flow says of it.
		if !secret && v != "" && err == nil && tab.IsPassword(ctx, l) {
			secret = true
			fr.r.mask.add(v)
		}
		text := fmt.Sprintf("fill %s with %q", shown(s.Target, l), v)
		if secret {
			text = fmt.Sprintf("fill %s with %s", shown(s.Target, l), Mask)
			fr.secretLocs = append(fr.secretLocs, l)
		}
		if fr.r.opts.Keyboard {
			text += " (keyboard)"
		}
		return text, err
	case flow.Check:
		l, err := fr.locator(s.Target)
		if err != nil {
			return s.Kind(), err
		}
		if fr.r.opts.Keyboard {
			return s.Kind() + " " + shown(s.Target, l) + " (keyboard)", tab.KeySetChecked(ctx, l, s.Checked)
		}
		return s.Kind() + " " + shown(s.Target, l), tab.SetChecked(ctx, l, s.Checked)
	case flow.Press:
		return "press " + strings.Join(s.Keys, ", "), tab.Press(ctx, s.Keys...)
	case flow.Type:
		v, secret, err := fr.expand(s.Text)
		text := fmt.Sprintf("type %q", v)
		if secret {
			text = "type " + Mask
		}
		if err != nil {
			return text, err
		}
		return text, tab.Type(ctx, v)
	case flow.Focus:
		l, err := fr.locator(s.Target)
		if err != nil {
			return "focus", err
		}
		return "focus " + shown(s.Target, l), tab.Focus(ctx, l)
	case flow.TabTo:
		l, err := fr.locator(s.Target)
		if err != nil {
			return "tab-to", err
		}
		n, err := tab.TabTo(ctx, l)
		return fmt.Sprintf("tab to %s (%d × Tab)", shown(s.Target, l), n), err
	case flow.Expect:
		return fr.expect(ctx, s)
	case flow.Scan:
		return fr.scan(ctx, s)
	case flow.Read:
		l, err := fr.locator(s.Target)
		if err != nil {
			return "read", err
		}
		text := fmt.Sprintf("read %s → %s", shown(s.Target, l), s.As)
		v, err := tab.Read(ctx, l, s.Attr)
		if err != nil {
			return text, err
		}
		if s.Secret {
			fr.secretLocs = append(fr.secretLocs, l)
		}
		fr.set(s.As, v, s.Secret)
		return fmt.Sprintf("%s = %q", text, v), nil
	case flow.TOTP:
		return fr.totp(ctx, s)
	case flow.Clock:
		return fr.clock(ctx, s)
	case flow.Wait:
		t := time.NewTimer(s.D)
		defer t.Stop()
		select {
		case <-t.C:
			return "wait " + s.D.String(), nil
		case <-ctx.Done():
			return "wait " + s.D.String(), ctx.Err()
		}
	case flow.User:
		return fr.user(ctx, s)
	case flow.Set:
		v, secret, err := fr.expand(s.Value)
		if err != nil {
			return "set " + s.Name, err
		}
		fr.set(s.Name, v, secret || s.Secret)
		return fmt.Sprintf("set %s = %q", s.Name, v), nil
	case flow.Screenshot:
		return "screenshot " + s.Name, nil // every captured step keeps one
	case flow.Axe:
		return fr.axe(ctx, s)
	case flow.Device:
		if t, ok := fr.tabs[s.Name]; ok {
			fr.tab = t
			return "device " + s.Name, nil
		}
		t, err := fr.r.tab(ctx)
		if err != nil {
			return "device " + s.Name + " (new)", err
		}
		fr.tabs[s.Name], fr.tab = t, t
		return "device " + s.Name + " (new)", nil
	}
	return "", fmt.Errorf("kapu bug: no runner for %T", s) // a test covers every kind
}

func (fr *flowRun) scan(ctx context.Context, s flow.Scan) (string, error) {
	l, err := fr.locator(s.Target)
	if err != nil {
		return "scan", err
	}
	text := fmt.Sprintf("scan %s → %s", shown(s.Target, l), s.As)
	png, err := fr.tab.ElementScreenshot(ctx, l)
	if err != nil {
		return text, err
	}
	v, err := qr.Decode(png)
	if err != nil {
		return text, err
	}
	fr.secretLocs = append(fr.secretLocs, l)
	if strings.HasPrefix(strings.ToLower(v), "otpauth:") {
		k, err := otpauth.Parse(v)
		if err != nil {
			return text, fmt.Errorf("the QR code holds a broken otpauth URI: %w", err)
		}
		fr.r.mask.add(k.Secret) // the URI shows, its secret masked
		fr.set(s.As, v, false)
		return fmt.Sprintf("%s = %q", text, v), nil
	}
	// Any other QR text (a DÁP approval URL) is a one-time capability, a
	// bearer secret until used: masked whole, and its token wherever it
	// shows on its own.
	fr.set(s.As, v, true)
	for _, part := range oneTimeParts(v) {
		fr.r.mask.add(part)
	}
	return fmt.Sprintf("%s = %q", text, fr.r.mask.mask(v)), nil
}

// oneTimeParts are the pieces of a scanned URL that carry its capability:
// path segments and query values that look like tokens (16 or more
// letters, digits, - or _), never ordinary words such as "login".
func oneTimeParts(v string) []string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" {
		return nil
	}
	var parts []string
	for _, seg := range strings.Split(u.Path, "/") {
		if looksLikeToken(seg) {
			parts = append(parts, seg)
		}
	}
	for _, vals := range u.Query() {
		for _, v := range vals {
			if looksLikeToken(v) {
				parts = append(parts, v)
			}
		}
	}
	return parts
}

func looksLikeToken(s string) bool {
	if len(s) < 16 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// totp computes a code at phone time. On the wall clock it never gives a
// code of a step already used for this key: it waits for the next step.
func (fr *flowRun) totp(ctx context.Context, s flow.TOTP) (string, error) {
	key := strings.TrimSuffix(strings.TrimPrefix(s.Key.Raw, "${"), "}")
	text := fmt.Sprintf("totp %s → %s", key, s.As)
	if s.Skew != 0 {
		text = fmt.Sprintf("totp %s, phone clock %+v → %s", key, s.Skew, s.As)
	}
	v, _, err := fr.expand(s.Key)
	if err != nil {
		return text, err
	}
	k, err := otpauth.FromText(v)
	if err != nil {
		return text, err
	}
	fr.r.mask.add(k.Secret)
	now, err := fr.t.Clock.Now(ctx)
	if err != nil {
		return text, fmt.Errorf("read the IdP clock: %w", err)
	}
	phone := now.Add(s.Skew)
	if fr.t.Real {
		step := phone.Unix() / int64(k.Period)
		fr.r.lastMu.Lock()
		last, used := fr.r.lastStep[k.Secret]
		fr.r.lastMu.Unlock()
		if used && step <= last {
			wait := time.Unix((last+1)*int64(k.Period), 0).Sub(phone)
			if err := fr.t.Clock.Advance(ctx, wait); err != nil {
				return text, err
			}
			phone = phone.Add(wait)
			step = last + 1
		}
		fr.r.lastMu.Lock()
		fr.r.lastStep[k.Secret] = step
		fr.r.lastMu.Unlock()
	}
	code, err := k.Code(phone)
	if err != nil {
		return text, err
	}
	fr.set(s.As, code, true)
	return text + " = " + Mask, nil
}

// clock moves the IdP clock through the target's Clock: the test API
// jumps, the wall clock waits. Only forward.
func (fr *flowRun) clock(ctx context.Context, s flow.Clock) (string, error) {
	var text string
	switch s.Move {
	case flow.Advance:
		text = "clock +" + s.D.String()
	case flow.BeforeBoundary:
		text = fmt.Sprintf("clock to %s before a 30 s boundary", s.D)
	case flow.AfterBoundary:
		text = fmt.Sprintf("clock to %s after a 30 s boundary", s.D)
	}
	now, err := fr.t.Clock.Now(ctx)
	if err != nil {
		return text, fmt.Errorf("read the IdP clock: %w", err)
	}
	move := s.D
	if s.Move != flow.Advance {
		next := now.Truncate(period).Add(period) // the next boundary
		target := next.Add(s.D)
		if s.Move == flow.BeforeBoundary {
			target = next.Add(-s.D)
			if !target.After(now) {
				target = target.Add(period)
			}
		}
		move = target.Sub(now)
	}
	if err := fr.t.Clock.Advance(ctx, move); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return text, err
		}
		return text, fmt.Errorf("move the IdP clock: %w", err)
	}
	return fmt.Sprintf("%s (+%s)", text, move.Round(time.Millisecond)), nil
}

func (fr *flowRun) user(ctx context.Context, s flow.User) (string, error) {
	var u User
	if fr.t.Users != nil {
		var err error
		if u, err = fr.t.Users.NewUser(ctx); err != nil {
			return "user fresh", fmt.Errorf("make a user through the test API: %w", err)
		}
	} else {
		if s.As != "user" {
			return "user " + s.As, fmt.Errorf("a second user (%s) needs the test API", s.As)
		}
		get := fr.r.opts.Getenv
		u = User{Username: get("KAPU_USERNAME"), Password: get("KAPU_PASSWORD"), Name: get("KAPU_NAME")}
		var missing []string
		for k, v := range map[string]string{"KAPU_USERNAME": u.Username, "KAPU_PASSWORD": u.Password, "KAPU_NAME": u.Name} {
			if v == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return "user from the environment", fmt.Errorf("the target has no test API: set %s (the user's login and the full name the IdP greets them by)", strings.Join(missing, ", "))
		}
	}
	fr.set(s.As, u.Username, false)
	fr.set(s.As+".username", u.Username, false)
	fr.set(s.As+".password", u.Password, true)
	fr.set(s.As+".name", u.Name, false)
	return fmt.Sprintf("user %s = %s (%s)", s.As, u.Username, u.Name), nil
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
func shown(_ flow.Target, l browser.Locator) string { return l.String() }

// describe is a step's text before it runs (for steps never run).
func describe(s flow.Step) string { return s.Kind() + " (" + s.Pos().String() + ")" }
