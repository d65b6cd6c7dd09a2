package browser

import (
	"context"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TabStop is one element the Tab key visits, as a reviewer reads it.
type TabStop struct {
	Role, Name   string
	FocusVisible bool // focused, it shows a focus indicator
}

func (s TabStop) String() string {
	v := "focus visible"
	if !s.FocusVisible {
		v = "NO VISIBLE FOCUS"
	}
	return fmt.Sprintf("%s %q (%s)", s.Role, s.Name, v)
}

// tabOrderJS lists what Tab visits, in order: shown, enabled elements in
// the sequential focus order (positive tabindex first, then the document's
// order), one stop per radio group.
const tabOrderJS = `(() => {
	window.__kapuFocus = [document.activeElement, window.scrollX, window.scrollY];
	const shown = el => (!el.checkVisibility || el.checkVisibility({visibilityProperty: true})) &&
		(() => { const r = el.getBoundingClientRect(); return r.width > 0 || r.height > 0; })();
	const sel = 'a[href], area[href], button, input:not([type=hidden]), select, textarea, iframe, summary, [tabindex], [contenteditable=""], [contenteditable=true], audio[controls], video[controls]';
	const els = Array.from(document.querySelectorAll(sel)).filter(el => el.tabIndex >= 0 && !el.disabled && !el.closest("[inert]") && shown(el));
	const groups = new Set(), out = [];
	for (const el of els) {
		if (el.type === "radio" && el.name) {
			const key = (el.form ? "f" : "d") + el.name;
			const group = els.filter(r => r.type === "radio" && r.name === el.name && r.form === el.form);
			const stop = group.find(r => r.checked) || group[0];
			if (el !== stop || groups.has(key)) continue;
			groups.add(key);
		}
		out.push(el);
	}
	const rank = el => el.tabIndex > 0 ? el.tabIndex : Infinity;
	return out.map((el, i) => [el, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(p => p[0]);
})()`

// ringsJS takes off the focus the Tab key moved, then focuses each stop in
// turn and tells, for each, whether that showed an indicator: it looks
// different focused (its outline, shadow, border or background). One call
// for the whole page; the page does not scroll.
const ringsJS = `function() {
	if (document.activeElement) document.activeElement.blur();
	const look = el => { const cs = getComputedStyle(el); return [cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow, cs.borderColor, cs.backgroundColor].join("|"); };
	return Array.from(this, el => {
		const before = look(el);
		el.focus({preventScroll: true});
		return document.activeElement === el && look(el) !== before;
	});
}`

// TabOrder lists the page's Tab stops with their role, accessible name and
// whether the focus is visible on each. It moves the focus through them
// (after one real Tab key, so that Chromium shows focus as for a keyboard
// user) and puts it back where it was.
func (t *Tab) TabOrder(ctx context.Context) ([]TabStop, error) {
	var out []TabStop
	err := t.run(ctx, func(ctx context.Context) error {
		arr, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](tabOrderJS))
		if err != nil {
			return err
		}
		defer chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](restoreFocusJS))
		els, err := t.elements(ctx, arr)
		if err != nil || len(els) == 0 {
			return err
		}
		// The key makes Chromium show focus as to a keyboard user; the
		// focus it moved is taken off again (ringsJS), so each stop is
		// seen focused and not.
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			return err
		}
		visible, err := call[[]bool](ctx, Element{obj: arr.ObjectID}, ringsJS)
		if err != nil {
			return err
		}
		for i, el := range els {
			out = append(out, TabStop{Role: el.Role, Name: strings.TrimSpace(el.Name), FocusVisible: i < len(visible) && visible[i]})
		}
		return nil
	})
	return out, err
}

// restoreFocusJS puts the focus and the scroll position back; when
// nothing had the focus, Tab starts from the top of the page again.
const restoreFocusJS = `(() => {
	const [prev, x, y] = window.__kapuFocus || [];
	delete window.__kapuFocus;
	if (prev && prev !== document.body && prev.isConnected) {
		prev.focus({preventScroll: true});
	} else {
		if (document.activeElement) document.activeElement.blur();
		const start = document.createElement("span");
		start.tabIndex = -1;
		document.body.prepend(start);
		start.focus({preventScroll: true});
		start.remove();
	}
	if (x !== undefined) window.scrollTo(x, y);
})()`
