package browser

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/kapu-dev/kapu/internal/poll"
)

// act finds one element for l, waits until it can be acted on, and runs f.
func (t *Tab) act(ctx context.Context, l Locator, f func(ctx context.Context, el Element) error) error {
	el, err := t.Wait(ctx, l)
	if err != nil {
		return err
	}
	return t.run(ctx, func(ctx context.Context) error {
		if err := t.slow(ctx); err != nil {
			return err
		}
		if err := t.highlight(ctx, el); err != nil {
			return err
		}
		return f(ctx, el)
	})
}

// highlight outlines the element for people watching with --slow-mo.
func (t *Tab) highlight(ctx context.Context, el Element) error {
	if t.b.opts.SlowMo <= 0 {
		return nil
	}
	_, err := call[any](ctx, el, `function() {
		const o = this.style.outline; this.style.outline = "4px solid #e4007c";
		setTimeout(() => { this.style.outline = o; }, 600);
	}`)
	return err
}

// point scrolls el into view and returns the centre of its box once the
// element is enabled and nothing covers it there: one call into the page.
func (t *Tab) point(ctx context.Context, el Element) (x, y float64, err error) {
	type spot struct {
		X, Y float64
		Why  string
	}
	var p spot
	perr := poll.Until(ctx, poll.Page, func() bool {
		p, err = call[spot](ctx, el, `function() {
			if (this.disabled || this.getAttribute("aria-disabled") === "true") return {X: 0, Y: 0, Why: "disabled"};
			this.scrollIntoView({block: "center", inline: "center", behavior: "instant"});
			const r = this.getBoundingClientRect();
			if (r.width === 0 && r.height === 0) return {X: 0, Y: 0, Why: "without a box on the page"};
			const x = r.left + r.width / 2, y = r.top + r.height / 2;
			const h = document.elementFromPoint(x, y);
			if (!h || h === this || this.contains(h)) return {X: x, Y: y, Why: ""};
			if (this.labels && Array.from(this.labels).some(l => l === h || l.contains(h))) return {X: x, Y: y, Why: ""};
			return {X: x, Y: y, Why: "covered by <" + h.tagName.toLowerCase() + (h.id ? "#" + h.id : "") + ">"};
		}`)
		if err == nil && p.Why != "" {
			err = fmt.Errorf("%s is %s", el, p.Why)
		}
		return err == nil
	})
	if perr != nil {
		return 0, 0, fmt.Errorf("%w (%v)", perr, err)
	}
	return p.X, p.Y, nil
}

// Click clicks the element with the mouse, as a person would, and waits
// for any navigation it starts.
func (t *Tab) Click(ctx context.Context, l Locator) error {
	return t.act(ctx, l, func(ctx context.Context, el Element) error {
		x, y, err := t.point(ctx, el)
		if err != nil {
			return err
		}
		before := t.navCount()
		for _, typ := range []input.DispatchMouseEventType{input.DispatchMouseEventTypeMousePressed, input.DispatchMouseEventTypeMouseReleased} {
			p := input.DispatchMouseEventParams{Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, ClickCount: 1, Buttons: 1}
			if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, p); err != nil {
				return fmt.Errorf("click %s: %w", el, err)
			}
		}
		return t.settle(ctx, before)
	})
}

// IsPassword tells whether l finds a password field now.
func (t *Tab) IsPassword(ctx context.Context, l Locator) bool {
	var yes bool
	t.run(ctx, func(ctx context.Context) error {
		els, err := t.find(ctx, l)
		if err == nil && len(els) == 1 {
			yes, _ = call[bool](ctx, els[0], `function() { return this.type === "password"; }`)
		}
		return nil
	})
	return yes
}

// Fill replaces the value of a field with value.
func (t *Tab) Fill(ctx context.Context, l Locator, value string) error {
	return t.act(ctx, l, func(ctx context.Context, el Element) error {
		if _, _, err := t.point(ctx, el); err != nil {
			return err
		}
		why, err := call[string](ctx, el, `function() {
			const editable = this.isContentEditable || ["INPUT", "TEXTAREA"].includes(this.tagName);
			if (!editable) return "not a text field";
			if (this.readOnly) return "read-only";
			this.focus();
			if (this.isContentEditable) { this.textContent = ""; } else { this.select(); this.value = ""; }
			this.dispatchEvent(new Event("input", {bubbles: true}));
			return "";
		}`)
		if err != nil {
			return err
		}
		if why != "" {
			return fmt.Errorf("fill %s: it is %s", el, why)
		}
		if value != "" {
			if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: value}); err != nil {
				return fmt.Errorf("fill %s: %w", el, err)
			}
		}
		_, err = call[any](ctx, el, `function() { this.dispatchEvent(new Event("change", {bubbles: true})); }`)
		return err
	})
}

// SetChecked ticks or unticks a checkbox (by clicking it, as a person would).
func (t *Tab) SetChecked(ctx context.Context, l Locator, want bool) error {
	return t.setChecked(ctx, l, want, t.Click, "when clicked")
}

// setChecked toggles the checkbox with activate when its state is not
// the one wanted, and checks that it changed.
func (t *Tab) setChecked(ctx context.Context, l Locator, want bool, activate func(context.Context, Locator) error, how string) error {
	el, err := t.Wait(ctx, l)
	if err != nil {
		return err
	}
	var got bool
	if err := t.run(ctx, func(ctx context.Context) (err error) { got, err = checked(ctx, el); return err }); err != nil {
		return err
	}
	if got == want {
		return nil
	}
	if err := activate(ctx, l); err != nil {
		return err
	}
	return t.run(ctx, func(ctx context.Context) error {
		if got, err := checked(ctx, el); err != nil || got != want {
			return fmt.Errorf("%s did not change %s", el, how)
		}
		return nil
	})
}

func checked(ctx context.Context, el Element) (bool, error) {
	return call[bool](ctx, el, `function() {
		if ("checked" in this && (this.type === "checkbox" || this.type === "radio")) return this.checked;
		return this.getAttribute("aria-checked") === "true";
	}`)
}

// Focus moves the keyboard focus to the element.
func (t *Tab) Focus(ctx context.Context, l Locator) error {
	return t.act(ctx, l, func(ctx context.Context, el Element) error {
		_, err := chromedp.Call(ctx, dom.Focus, dom.FocusParams{ObjectID: el.obj})
		return err
	})
}

// Press presses keys one after another: "Tab", "Shift+Tab", "Enter", "a".
func (t *Tab) Press(ctx context.Context, keys ...string) error {
	return t.run(ctx, func(ctx context.Context) error {
		for _, k := range keys {
			if err := t.slow(ctx); err != nil {
				return err
			}
			r, mods, err := parseKey(k)
			if err != nil {
				return err
			}
			before := t.navCount()
			if err := chromedp.Do(ctx, chromedp.KeyEvent(string(r), chromedp.KeyModifiers(mods...))); err != nil {
				return fmt.Errorf("press %s: %w", k, err)
			}
			if err := t.settle(ctx, before); err != nil {
				return err
			}
		}
		return nil
	})
}

// Type types text into the focused element, key by key.
func (t *Tab) Type(ctx context.Context, text string) error {
	return t.run(ctx, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.KeyEvent(text))
	})
}

var keyRunes = map[string]rune{
	"Enter": '\r', "Tab": '\t', "Space": ' ', "Escape": '\u001b', "Backspace": '\b', "Delete": '\u007f',
	"ArrowUp": []rune(kb.ArrowUp)[0], "ArrowDown": []rune(kb.ArrowDown)[0], "ArrowLeft": []rune(kb.ArrowLeft)[0],
	"ArrowRight": []rune(kb.ArrowRight)[0], "Home": []rune(kb.Home)[0], "End": []rune(kb.End)[0],
	"PageUp": []rune(kb.PageUp)[0], "PageDown": []rune(kb.PageDown)[0],
}

var modifiers = map[string]chromedp.Modifier{
	"Shift": chromedp.ModifierShift, "Control": chromedp.ModifierCtrl, "Alt": chromedp.ModifierAlt, "Meta": chromedp.ModifierMeta,
}

func parseKey(s string) (rune, []chromedp.Modifier, error) {
	parts := strings.Split(s, "+")
	if s == "+" {
		parts = []string{"+"}
	}
	var mods []chromedp.Modifier
	for _, p := range parts[:len(parts)-1] {
		m, ok := modifiers[p]
		if !ok {
			return 0, nil, fmt.Errorf("unknown modifier %q in %q", p, s)
		}
		mods = append(mods, m)
	}
	key := parts[len(parts)-1]
	if r, ok := keyRunes[key]; ok {
		return r, mods, nil
	}
	if rs := []rune(key); len(rs) == 1 {
		return rs[0], mods, nil
	}
	return 0, nil, fmt.Errorf("unknown key %q", key)
}

// Read returns the element's attribute attr, or else the value of a form
// field, or else its visible text.
func (t *Tab) Read(ctx context.Context, l Locator, attr string) (string, error) {
	var out string
	err := t.act(ctx, l, func(ctx context.Context, el Element) (err error) {
		out, err = t.ReadElement(ctx, el, attr)
		return err
	})
	return out, err
}

// ReadElement is Read for a found element.
func (t *Tab) ReadElement(ctx context.Context, el Element, attr string) (string, error) {
	var out string
	err := t.run(ctx, func(ctx context.Context) (err error) {
		out, err = call[string](ctx, el, `function(attr) {
			if (attr) return this.getAttribute(attr) ?? "";
			if (["INPUT", "TEXTAREA", "SELECT", "OUTPUT"].includes(this.tagName)) return this.value;
			return this.innerText;
		}`, attr)
		return err
	})
	if attr == "" {
		out = collapse(out)
	}
	return out, err
}

// State is what an expectation may ask of an element.
type State struct {
	Checked  bool
	Expanded string // aria-expanded: "true", "false" or ""
	Focused  bool
}

// StateOf reads an element's state.
func (t *Tab) StateOf(ctx context.Context, el Element) (State, error) {
	var s State
	err := t.run(ctx, func(ctx context.Context) error {
		v, err := call[struct {
			Checked  bool   `json:"checked"`
			Expanded string `json:"expanded"`
			Focused  bool   `json:"focused"`
		}](ctx, el, `function() {
			const c = ("checked" in this && (this.type === "checkbox" || this.type === "radio")) ? this.checked : this.getAttribute("aria-checked") === "true";
			return {checked: c, expanded: this.getAttribute("aria-expanded") ?? "", focused: document.activeElement === this};
		}`)
		s = State{v.Checked, v.Expanded, v.Focused}
		return err
	})
	return s, err
}

// byRole returns the texts (or names) of the visible elements of a role.
func (t *Tab) byRole(ctx context.Context, role string, text bool) ([]string, error) {
	var out []string
	err := t.run(ctx, func(ctx context.Context) error {
		nodes, err := axNodes(ctx, func(n *accessibility.Node) bool {
			return !n.Ignored && n.BackendDOMNodeID != 0 && axString(n.Role) == role
		})
		if err != nil {
			return err
		}
		els := resolve(ctx, nodes)
		els, _ = visible(ctx, els)
		for _, e := range els {
			if !text {
				out = append(out, Normalize(e.Name))
				continue
			}
			s, err := call[string](ctx, e, `function() { return this.innerText; }`)
			if err == nil {
				out = append(out, Normalize(s))
			}
		}
		return nil
	})
	return out, err
}

// Alerts returns the texts of the visible alerts (role=alert).
func (t *Tab) Alerts(ctx context.Context) ([]string, error) { return t.byRole(ctx, "alert", true) }

// Headings returns the names of the visible headings.
func (t *Tab) Headings(ctx context.Context) ([]string, error) { return t.byRole(ctx, "heading", false) }

// ElementScreenshot is a PNG of the element's content box (not its border:
// a QR decoder reads a borderless image best).
func (t *Tab) ElementScreenshot(ctx context.Context, l Locator) ([]byte, error) {
	var png []byte
	err := t.act(ctx, l, func(ctx context.Context, el Element) error {
		if _, _, err := t.point(ctx, el); err != nil {
			return err
		}
		box, err := chromedp.Call(ctx, dom.GetBoxModel, dom.GetBoxModelParams{ObjectID: el.obj})
		if err != nil {
			return fmt.Errorf("box of %s: %w", el, err)
		}
		q := box.Model.Content
		if len(q) != 8 {
			return fmt.Errorf("%s has no content box", el)
		}
		minX, minY := math.Min(math.Min(q[0], q[2]), math.Min(q[4], q[6])), math.Min(math.Min(q[1], q[3]), math.Min(q[5], q[7]))
		maxX, maxY := math.Max(math.Max(q[0], q[2]), math.Max(q[4], q[6])), math.Max(math.Max(q[1], q[3]), math.Max(q[5], q[7]))
		m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return err
		}
		px, py := 0.0, 0.0
		if m.CSSVisualViewport != nil {
			px, py = m.CSSVisualViewport.PageX, m.CSSVisualViewport.PageY
		}
		res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng,
			Clip:   &page.Viewport{X: minX + px, Y: minY + py, Width: maxX - minX, Height: maxY - minY, Scale: 1},
		})
		png = res.Data
		return err
	})
	return png, err
}

// maxTabs bounds TabTo: a page whose control is further than this many
// Tab presses away is not usable by keyboard anyway.
const maxTabs = 80

// TabTo presses Tab until the element has the focus, and returns how
// many presses it took. It fails, naming where the focus went, when the
// element is never reached.
func (t *Tab) TabTo(ctx context.Context, l Locator) (int, error) {
	el, err := t.Wait(ctx, l)
	if err != nil {
		return 0, err
	}
	n := 0
	err = t.run(ctx, func(ctx context.Context) error {
		var path []string
		for ; n <= maxTabs; n++ {
			focused, err := call[bool](ctx, el, `function() { return document.activeElement === this; }`)
			if err != nil {
				return err
			}
			if focused {
				return t.slow(ctx)
			}
			if n == maxTabs {
				break
			}
			if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
				return fmt.Errorf("press Tab: %w", err)
			}
			if f, err := t.focusedName(ctx); err == nil && len(path) < 12 {
				path = append(path, f)
			}
		}
		return fmt.Errorf("%s not reached after %d × Tab; the focus went through: %s…", el, maxTabs, strings.Join(path, ", "))
	})
	return n, err
}

// focusedName describes the focused element, for messages; the caller
// is inside t.run.
func (t *Tab) focusedName(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](describeFocus))
}
