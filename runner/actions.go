package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/kapu-dev/kapu/flow"
)

// Steps that act on the page as a person does.

// open loads a path of the target or a URL.
func (fr *flowRun) open(ctx context.Context, s flow.Open) (string, error) {
	tab := fr.tab
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
}

// click clicks an element, or Tab and Enter/Space with --keyboard.
func (fr *flowRun) click(ctx context.Context, s flow.Click) (string, error) {
	tab := fr.tab
	l, err := fr.locator(s.Target)
	if err != nil {
		return "click", err
	}
	if fr.r.opts.Keyboard {
		return "click " + shown(l) + " (keyboard)", tab.KeyClick(ctx, l)
	}
	return "click " + shown(l), tab.Click(ctx, l)
}

// fill replaces a field's value; what goes into a password field is
// a secret whatever the flow says.
func (fr *flowRun) fill(ctx context.Context, s flow.Fill) (string, error) {
	tab := fr.tab
	l, err := fr.locator(s.Target)
	if err != nil {
		return "fill", err
	}
	v, secret, err := fr.expand(s.Value)
	if err != nil {
		return "fill " + shown(l), err
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
	text := fmt.Sprintf("fill %s with %q", shown(l), v)
	if secret {
		text = fmt.Sprintf("fill %s with %s", shown(l), Mask)
		fr.secretLoc(l)
	}
	if fr.r.opts.Keyboard {
		text += " (keyboard)"
	}
	return text, err
}

// setChecked ticks or unticks a checkbox.
func (fr *flowRun) setChecked(ctx context.Context, s flow.Check) (string, error) {
	tab := fr.tab
	l, err := fr.locator(s.Target)
	if err != nil {
		return s.Kind(), err
	}
	if fr.r.opts.Keyboard {
		return s.Kind() + " " + shown(l) + " (keyboard)", tab.KeySetChecked(ctx, l, s.Checked)
	}
	return s.Kind() + " " + shown(l), tab.SetChecked(ctx, l, s.Checked)
}

// press presses keys one after another.
func (fr *flowRun) press(ctx context.Context, s flow.Press) (string, error) {
	tab := fr.tab
	return "press " + strings.Join(s.Keys, ", "), tab.Press(ctx, s.Keys...)
}

// typeText types into the focused element, key by key.
func (fr *flowRun) typeText(ctx context.Context, s flow.Type) (string, error) {
	tab := fr.tab
	v, secret, err := fr.expand(s.Text)
	text := fmt.Sprintf("type %q", v)
	if secret {
		text = "type " + Mask
	}
	if err != nil {
		return text, err
	}
	return text, tab.Type(ctx, v)
}

// focus moves the focus to an element.
func (fr *flowRun) focus(ctx context.Context, s flow.Focus) (string, error) {
	tab := fr.tab
	l, err := fr.locator(s.Target)
	if err != nil {
		return "focus", err
	}
	return "focus " + shown(l), tab.Focus(ctx, l)
}

// tabTo presses Tab until an element has the focus.
func (fr *flowRun) tabTo(ctx context.Context, s flow.TabTo) (string, error) {
	tab := fr.tab
	l, err := fr.locator(s.Target)
	if err != nil {
		return "tab-to", err
	}
	n, err := tab.TabTo(ctx, l)
	return fmt.Sprintf("tab to %s (%d × Tab)", shown(l), n), err
}
