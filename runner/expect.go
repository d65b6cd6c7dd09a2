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
	"github.com/kapu-dev/kapu/internal/poll"
)

// expect waits until every assertion holds. At the timeout it fails with
// the first that does not, expected against found.
func (fr *flowRun) expect(ctx context.Context, s flow.Expect) (string, error) {
	parts := make([]string, len(s.Assertions))
	for i, a := range s.Assertions {
		parts[i] = a.String()
		if v, secret, err := fr.expand(a.Want); err == nil && a.Want.Raw != "" && len(a.Values) == 0 {
			if secret {
				v = Mask
			}
			parts[i] = strings.Replace(parts[i], fmt.Sprintf("%q", a.Want.Raw), fmt.Sprintf("%q", v), 1)
		}
		parts[i] = fr.r.mask.mask(parts[i])
	}
	text := "expect " + strings.Join(parts, ", ")
	var lastErr error // the last real mismatch, not the deadline's error
	var stop error    // a failure that waiting cannot mend
	perr := poll.Until(ctx, poll.Page, func() bool {
		var err error
		for _, a := range s.Assertions {
			if err = fr.check(ctx, a); err != nil {
				break
			}
		}
		if _, ok := err.(fatal); ok {
			stop = err
			return true
		}
		if err != nil && (ctx.Err() == nil || lastErr == nil) {
			lastErr = err
		}
		// A check that ends after the deadline proves nothing: the page
		// may have been read only in part.
		return err == nil && ctx.Err() == nil
	})
	switch {
	case stop != nil:
		return text, stop
	case perr == nil:
		return text, nil
	case lastErr == nil || errors.Is(lastErr, context.DeadlineExceeded) || errors.Is(lastErr, context.Canceled):
		// No check finished in time (a slow machine): look once more, with
		// a little time of its own, to say what was found. The step has
		// failed all the same.
		lastErr = perr
		nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		for _, a := range s.Assertions {
			if err := fr.check(nctx, a); err != nil {
				if _, ok := err.(mismatch); ok {
					lastErr = err
				}
				break
			}
		}
	}
	return text, lastErr
}

// fatal is a failure that waiting cannot mend (a missing variable).
type fatal struct{ error }

// mismatch is a failed assertion: what was wanted, and what was found.
type mismatch struct {
	what, want, found string
}

func (m mismatch) Error() string {
	return fmt.Sprintf("%s: want %s, found %s", m.what, m.want, m.found)
}

func quoteAll(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// checkFunc checks one assertion against the page; want is its expected
// text, expanded and normalized.
type checkFunc func(fr *flowRun, ctx context.Context, a flow.Assertion, want string) error

// checks has one check per assertion of the flow package's table
// (flow/expect.go); a test ties the two.
var checks = map[string]checkFunc{
	"alert":     (*flowRun).checkAlert,
	"no-alert":  (*flowRun).checkNoAlert,
	"heading":   (*flowRun).checkHeading,
	"text":      checkText(true),
	"no-text":   checkText(false),
	"title":     (*flowRun).checkTitle,
	"url":       (*flowRun).checkURL,
	"visible":   checkFound(true),
	"absent":    checkFound(false),
	"value":     (*flowRun).checkValue,
	"attr":      (*flowRun).checkValue,
	"checked":   checkState(func(st browser.State) bool { return st.Checked }),
	"unchecked": checkState(func(st browser.State) bool { return !st.Checked }),
	"expanded":  checkState(func(st browser.State) bool { return st.Expanded == "true" }),
	"collapsed": checkState(func(st browser.State) bool { return st.Expanded == "false" }),
	"focused":   checkState(func(st browser.State) bool { return st.Focused }),
	"equal":     (*flowRun).compare,
	"different": (*flowRun).compare,
}

func (fr *flowRun) check(ctx context.Context, a flow.Assertion) error {
	want, _, err := fr.expand(a.Want)
	if err != nil {
		return fatal{err}
	}
	c, ok := checks[a.What]
	if !ok {
		return fatal{fmt.Errorf("kapu bug: no check for %q", a.What)}
	}
	return c(fr, ctx, a, browser.Normalize(want))
}

func (fr *flowRun) checkAlert(ctx context.Context, _ flow.Assertion, want string) error {
	alerts, err := fr.tab.Alerts(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(alerts, want) {
		return mismatch{"alert", fmt.Sprintf("%q", want), quoteAll(alerts)}
	}
	return nil
}

func (fr *flowRun) checkNoAlert(ctx context.Context, _ flow.Assertion, _ string) error {
	alerts, err := fr.tab.Alerts(ctx)
	if err != nil {
		return err
	}
	if len(alerts) > 0 {
		return mismatch{"alert", "none", quoteAll(alerts)}
	}
	return nil
}

func (fr *flowRun) checkHeading(ctx context.Context, _ flow.Assertion, want string) error {
	hs, err := fr.tab.Headings(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(hs, want) {
		return mismatch{"heading", fmt.Sprintf("%q", want), quoteAll(hs)}
	}
	return nil
}

// checkText is text (present) or no-text (absent from the page).
func checkText(present bool) checkFunc {
	return func(fr *flowRun, ctx context.Context, a flow.Assertion, want string) error {
		text, err := fr.tab.Text(ctx)
		if err != nil {
			return err
		}
		has := strings.Contains(browser.Normalize(text), want)
		if present && !has {
			return mismatch{"text", fmt.Sprintf("%q on the page", want), fmt.Sprintf("%q", excerpt(text))}
		}
		if !present && has {
			return mismatch{"no-text", fmt.Sprintf("no %q on the page", want), "it"}
		}
		return nil
	}
}

func (fr *flowRun) checkTitle(ctx context.Context, _ flow.Assertion, want string) error {
	t, err := fr.tab.Title(ctx)
	if err != nil {
		return err
	}
	if browser.Normalize(t) != want {
		return mismatch{"title", fmt.Sprintf("%q", want), fmt.Sprintf("%q", t)}
	}
	return nil
}

func (fr *flowRun) checkURL(ctx context.Context, _ flow.Assertion, want string) error {
	u, err := fr.tab.URL(ctx)
	if err != nil {
		return err
	}
	if !strings.Contains(u, want) {
		return mismatch{"url", fmt.Sprintf("one with %q", want), fmt.Sprintf("%q", u)}
	}
	return nil
}

// checkFound is visible (some element) or absent (none).
func checkFound(visible bool) checkFunc {
	return func(fr *flowRun, ctx context.Context, a flow.Assertion, _ string) error {
		l, err := fr.locator(a.Target)
		if err != nil {
			return fatal{err}
		}
		els, err := fr.tab.Find(ctx, l)
		if err != nil {
			return err
		}
		if visible && len(els) == 0 {
			return mismatch{"visible", l.String(), "none"}
		}
		if !visible && len(els) > 0 {
			return mismatch{"absent", "no " + l.String(), fmt.Sprint(els)}
		}
		return nil
	}
}

// one finds exactly one element for an assertion about it.
func (fr *flowRun) one(ctx context.Context, a flow.Assertion) (browser.Element, browser.Locator, error) {
	l, err := fr.locator(a.Target)
	if err != nil {
		return browser.Element{}, l, fatal{err}
	}
	els, err := fr.tab.Find(ctx, l)
	if err != nil {
		return browser.Element{}, l, err
	}
	if len(els) != 1 {
		return browser.Element{}, l, mismatch{a.What, "one " + l.String(), fmt.Sprintf("%d", len(els))}
	}
	return els[0], l, nil
}

// checkValue is value (a field's) and attr (an attribute's).
func (fr *flowRun) checkValue(ctx context.Context, a flow.Assertion, want string) error {
	el, l, err := fr.one(ctx, a)
	if err != nil {
		return err
	}
	got, err := fr.tab.ReadElement(ctx, el, a.Attr)
	if err != nil {
		return err
	}
	if browser.Normalize(got) != want {
		what := "value of " + l.String()
		if a.Attr != "" {
			what = a.Attr + " of " + l.String()
		}
		return mismatch{what, fmt.Sprintf("%q", want), fmt.Sprintf("%q", got)}
	}
	return nil
}

// checkState is an assertion on an element's state: checked, expanded,
// focused and their opposites.
func checkState(holds func(browser.State) bool) checkFunc {
	return func(fr *flowRun, ctx context.Context, a flow.Assertion, _ string) error {
		el, l, err := fr.one(ctx, a)
		if err != nil {
			return err
		}
		st, err := fr.tab.StateOf(ctx, el)
		if err != nil {
			return err
		}
		if holds(st) {
			return nil
		}
		found := fmt.Sprintf("checked=%v aria-expanded=%q focused=%v", st.Checked, st.Expanded, st.Focused)
		if a.What == "focused" {
			found = "focus elsewhere"
			if f, err := fr.tab.FocusedElement(ctx); err == nil {
				found = "focus on " + f
			}
		}
		return mismatch{a.What, l.String(), found}
	}
}

// compare checks equal and different; secrets show as fingerprints.
func (fr *flowRun) compare(_ context.Context, a flow.Assertion, _ string) error {
	vals := make([]string, len(a.Values))
	shown := make([]string, len(a.Values))
	for i, t := range a.Values {
		v, secret, err := fr.expand(t)
		if err != nil {
			return fatal{err}
		}
		vals[i] = v
		shown[i] = fmt.Sprintf("%s = %q", t.Raw, v)
		if secret {
			shown[i] = fmt.Sprintf("%s = %s", t.Raw, fingerprint(v))
		}
	}
	for i := 1; i < len(vals); i++ {
		for j := 0; j < i; j++ {
			same := vals[i] == vals[j]
			if a.What == "equal" && !same {
				return fatal{mismatch{"equal", "all equal", strings.Join(shown, "; ")}}
			}
			if a.What == "different" && same {
				return fatal{mismatch{"different", "all different", shown[j] + "; " + shown[i]}}
			}
		}
	}
	return nil
}

func excerpt(s string) string {
	s = browser.Normalize(s)
	if r := []rune(s); len(r) > 160 {
		return string(r[:160]) + "…"
	}
	return s
}
