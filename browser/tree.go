package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"
)

// AXLine is one node of the accessibility tree as a screen reader user
// meets it: its role, name, value and states, indented by depth.
type AXLine struct {
	Depth   int
	Role    string
	Name    string
	Value   string
	States  []string // checked, expanded, disabled, invalid, required…
	Focused bool
}

func (l AXLine) String() string {
	s := strings.Repeat("  ", l.Depth) + l.Role
	if l.Name != "" {
		s += fmt.Sprintf(" %q", l.Name)
	}
	if l.Value != "" {
		s += fmt.Sprintf(" value=%q", l.Value)
	}
	if len(l.States) > 0 {
		s += " [" + strings.Join(l.States, ", ") + "]"
	}
	if l.Focused {
		s += " ← focus"
	}
	return s
}

// Tree returns the page's accessibility tree without ignored and
// text-only nodes, in document order.
func (t *Tab) Tree(ctx context.Context) ([]AXLine, error) {
	tree, _, err := t.TreeFind(ctx, nil, nil)
	return tree, err
}

// TreeFind returns the page's accessibility tree (as Tree), and the
// elements whose accessible name is one of names (any role) or that any of
// locs (by role or by label) finds, from one reading of the tree: what
// must be found before every picture (the secrets to blur) and what the
// report shows come from the one costly computation. Locators by text or
// CSS are left out: Find them. Unlike Find, an element without a box is
// kept: blurring it costs nothing.
func (t *Tab) TreeFind(ctx context.Context, names []string, locs []Locator) ([]AXLine, []Element, error) {
	var tree []AXLine
	var found []Element
	err := t.run(ctx, func(ctx context.Context) error {
		var ms []axMatch
		for _, l := range locs {
			if l.By == ByRole || l.By == ByLabel {
				ms = append(ms, newAXMatch(l))
			}
		}
		all, err := axTree(ctx)
		if err != nil {
			return err
		}
		var nodes []*accessibility.Node
		for _, n := range all {
			named := !n.Ignored && n.BackendDOMNodeID != 0 && slices.Contains(names, axString(n.Name))
			if named || slices.ContainsFunc(ms, func(m axMatch) bool { return m.match(n) }) {
				nodes = append(nodes, n)
			}
		}
		tree = axLines(all)
		found = resolve(ctx, nodes)
		return nil
	})
	return tree, found, err
}

// axLines turns the nodes of the tree into lines, walking from the root.
func axLines(nodes []*accessibility.Node) []AXLine {
	var out []AXLine
	byID := map[accessibility.NodeID]*accessibility.Node{}
	for _, n := range nodes {
		byID[n.NodeID] = n
	}
	var walk func(id accessibility.NodeID, depth int)
	walk = func(id accessibility.NodeID, depth int) {
		n := byID[id]
		if n == nil {
			return
		}
		role := axString(n.Role)
		if !n.Ignored && !slices.Contains([]string{"StaticText", "InlineTextBox", "generic", "none", "LineBreak"}, role) {
			out = append(out, axLine(n, role, depth))
			depth++
		}
		for _, c := range n.ChildIDs {
			walk(c, depth)
		}
	}
	if len(nodes) > 0 {
		walk(nodes[0].NodeID, 0)
	}
	return out
}

// axLine is one kept node: its role, name, value and states.
func axLine(n *accessibility.Node, role string, depth int) AXLine {
	l := AXLine{Depth: depth, Role: role, Name: axString(n.Name), Value: axString(n.Value)}
	for _, p := range n.Properties {
		v := axString(p.Value)
		switch string(p.Name) {
		case "focused":
			l.Focused = v == "true"
		case "checked", "expanded", "disabled", "invalid", "required", "readonly", "pressed", "selected", "modal":
			if v != "" && v != "false" {
				if v == "true" {
					l.States = append(l.States, string(p.Name))
				} else {
					l.States = append(l.States, string(p.Name)+"="+v)
				}
			} else if p.Name == "expanded" || p.Name == "checked" {
				l.States = append(l.States, "not "+string(p.Name))
			}
		case "level":
			l.States = append(l.States, "level "+v)
		}
	}
	return l
}

// describeFocus is the one description of the focused element: its tag
// and its label, ARIA label or text (never a field's value: it may be a
// secret), or the page itself.
const describeFocus = `(() => {
	const a = document.activeElement;
	if (!a || a === document.body) return "the page itself";
	return "<" + a.tagName.toLowerCase() + "> " + JSON.stringify((a.labels && a.labels[0] ? a.labels[0].innerText : a.getAttribute("aria-label") || a.innerText || "").trim().slice(0, 60));
})()`

// FocusedElement describes the element that has the keyboard focus.
func (t *Tab) FocusedElement(ctx context.Context) (string, error) {
	var s string
	err := t.run(ctx, func(ctx context.Context) (err error) {
		s, err = t.focusedName(ctx)
		return err
	})
	return s, err
}

// Blur hides secrets until the returned func is called: for screenshots
// that reach a report. It blurs the elements that ls find (a scanned QR
// code, a read törlőkód) and every field or text that holds one of the
// secrets, whether or not a flow read it.
func (t *Tab) Blur(ctx context.Context, els []Element, secrets []string) (undo func()) {
	t.run(ctx, func(ctx context.Context) error {
		for _, e := range els {
			call[any](ctx, e, `function() { this.setAttribute("data-kapu-blur", ""); }`)
		}
		b, _ := json.Marshal(secrets)
		chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`((secrets) => {
			const squash = s => (s || "").replace(/[\s-]+/g, "").toUpperCase();
			const keys = secrets.map(squash).filter(s => s.length >= 4);
			const has = s => { const q = squash(s); return keys.some(k => q.includes(k)); };
			for (const el of document.querySelectorAll("input, textarea, output")) {
				if (el.type !== "password" && has(el.value)) el.setAttribute("data-kapu-blur", "");
			}
			const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
			for (let n = walk.nextNode(); n; n = walk.nextNode()) {
				if (has(n.nodeValue) && n.parentElement) n.parentElement.setAttribute("data-kapu-blur", "");
			}
			for (const el of document.querySelectorAll("[data-kapu-blur]")) {
				el.dataset.kapuFilter = el.style.filter; el.style.filter = "blur(12px)";
			}
		})(`+string(b)+`)`))
		return nil
	})
	return func() {
		// Bounded like every browser call: a page that hangs must not hang kapu.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		t.run(uctx, func(ctx context.Context) error {
			return chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(() => {
				for (const el of document.querySelectorAll("[data-kapu-blur]")) {
					el.style.filter = el.dataset.kapuFilter || ""; delete el.dataset.kapuFilter; el.removeAttribute("data-kapu-blur");
				}
			})()`))
		})
	}
}
