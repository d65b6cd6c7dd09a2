package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/kapu-dev/kapu/internal/poll"
	"github.com/kapu-dev/kapu/internal/spell"
	"golang.org/x/text/unicode/norm"
)

// By is how a Locator finds elements.
type By int

const (
	ByRole  By = iota // role and accessible name (Chromium's accessibility tree)
	ByLabel           // a form control by its label: its accessible name
	ByText            // the smallest visible element with this text
	ByCSS             // CSS selector: the escape hatch
)

// Locator says what to find.
type Locator struct {
	By    By
	Roles []string // ByRole, ByLabel: any of these; empty: any role
	Name  string   // the name, label, text or selector
	Exact bool     // exact (after Unicode NFC and white space folding), else a substring
	Desc  string   // how messages name it; "": from the fields
}

func (l Locator) String() string {
	if l.Desc != "" {
		return l.Desc
	}
	q := fmt.Sprintf("%q", l.Name)
	if !l.Exact {
		q = "~" + q
	}
	switch l.By {
	case ByLabel:
		return "field " + q
	case ByText:
		return "text " + q
	case ByCSS:
		return "css " + q
	}
	if len(l.Roles) == 0 {
		return "element " + q
	}
	return strings.Join(l.Roles, "/") + " " + q
}

// Element is a found element: a handle in the page and what the
// accessibility tree says of it.
type Element struct {
	obj  runtime.RemoteObjectID
	Role string
	Name string
}

func (e Element) String() string {
	if e.Name == "" {
		return e.Role
	}
	return fmt.Sprintf("%s %q", e.Role, e.Name)
}

// NotFoundError says what was looked for and what the page offers.
type NotFoundError struct {
	Locator Locator
	Nearest []string // names on the page nearest to the one looked for
	Many    []string // more than one match: the candidates
}

func (e *NotFoundError) Error() string {
	if len(e.Many) > 0 {
		return fmt.Sprintf("%d elements match %s, want one: %s", len(e.Many), e.Locator, strings.Join(e.Many, "; "))
	}
	msg := "no " + e.Locator.String() + " on the page"
	if len(e.Nearest) > 0 {
		msg += "; nearest: " + strings.Join(e.Nearest, ", ")
	}
	return msg
}

// roles that never stand for an element a person acts on or reads by name.
var textRoles = []string{"StaticText", "InlineTextBox", "LabelText", "RootWebArea", "none", "generic", "ListMarker"}

// chromiumRole maps an ARIA role to the names Chromium's tree may use.
func chromiumRoles(role string) []string {
	switch role {
	case "img", "image":
		return []string{"image", "img"}
	case "textbox":
		return []string{"textbox", "TextField"}
	}
	return []string{role}
}

func roleMatch(want []string, got string) bool {
	if slices.Contains(textRoles, got) {
		return false
	}
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if slices.Contains(chromiumRoles(w), got) {
			return true
		}
	}
	return false
}

// Normalize folds a name for comparison: Unicode NFC, white space collapsed.
func Normalize(s string) string { return collapse(norm.NFC.String(s)) }

// Find returns the visible elements that l finds now, without waiting.
func (t *Tab) Find(ctx context.Context, l Locator) ([]Element, error) {
	var els []Element
	err := t.run(ctx, func(ctx context.Context) (err error) {
		els, err = t.find(ctx, l)
		return err
	})
	return els, err
}

func (t *Tab) find(ctx context.Context, l Locator) ([]Element, error) {
	switch l.By {
	case ByCSS, ByText:
		return t.findJS(ctx, l)
	}
	m := newAXMatch(l)
	nodes, err := axNodes(ctx, m.match)
	if err != nil {
		return nil, err
	}
	out := resolve(ctx, nodes)
	els, err := visible(ctx, out)
	if ctx.Err() != nil {
		// Nodes skipped because the time ran out are not "gone": no answer
		// at all is better than a wrong "none" (an absent that passes).
		return nil, ctx.Err()
	}
	return els, err
}

// axMatch tells whether a node of the accessibility tree is one that a
// Locator by role or label finds (before the check that it is visible).
type axMatch struct {
	l        Locator
	want, lw string
}

func newAXMatch(l Locator) axMatch {
	want := Normalize(l.Name)
	return axMatch{l: l, want: want, lw: strings.ToLower(want)}
}

func (m axMatch) match(n *accessibility.Node) bool {
	role := axString(n.Role)
	// The tree also holds hidden nodes: they are ignored ones.
	if n.Ignored || n.BackendDOMNodeID == 0 || !roleMatch(m.l.Roles, role) {
		return false
	}
	if m.l.By == ByLabel && !formRole(role) {
		return false
	}
	name := Normalize(axString(n.Name))
	if m.l.Exact {
		return name == m.want
	}
	return strings.Contains(strings.ToLower(name), m.lw)
}

// resolve makes elements of nodes; a node gone since the reading is left out.
func resolve(ctx context.Context, nodes []*accessibility.Node) []Element {
	var out []Element
	for _, n := range nodes {
		obj, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: n.BackendDOMNodeID, ObjectGroup: "kapu"})
		if err != nil || obj.Object == nil {
			continue
		}
		out = append(out, Element{obj: obj.Object.ObjectID, Role: axString(n.Role), Name: axString(n.Name)})
	}
	return out
}

func formRole(role string) bool {
	return slices.Contains([]string{"textbox", "TextField", "searchbox", "combobox", "spinbutton", "checkbox", "radio", "switch", "slider", "listbox", "menuitemcheckbox", "menuitemradio"}, role)
}

// visible keeps the elements that a person can see: the accessibility
// tree keeps some that have no box (an empty, zero-size element).
func visible(ctx context.Context, els []Element) ([]Element, error) {
	var out []Element
	for _, e := range els {
		ok, err := call[bool](ctx, e, `function() {
			if (!this.isConnected) return false;
			if (this.checkVisibility && !this.checkVisibility({visibilityProperty: true})) return false;
			const r = this.getBoundingClientRect();
			return r.width > 0 || r.height > 0;
		}`)
		if err == nil && ok {
			out = append(out, e)
		}
	}
	return out, nil
}

const findJS = `function(by, sel, exact) {
	const norm = s => (s || "").normalize("NFC").replace(/\s+/g, " ").trim();
	const shown = el => (!el.checkVisibility || el.checkVisibility({visibilityProperty: true})) &&
		(() => { const r = el.getBoundingClientRect(); return r.width > 0 || r.height > 0; })();
	if (by === "css") return Array.from(document.querySelectorAll(sel)).filter(shown);
	const want = norm(sel), lw = want.toLowerCase();
	const hit = el => { const t = norm(el.innerText); return exact ? t === want : t.toLowerCase().includes(lw); };
	const out = [];
	const walk = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_ELEMENT);
	for (let el = walk.currentNode; el; el = walk.nextNode()) {
		if (!hit(el) || !shown(el)) continue;
		if (Array.from(el.children).some(c => hit(c) && shown(c))) continue; // the smallest only
		out.push(el);
	}
	return out;
}`

// findJS finds by CSS or by visible text in the page.
func (t *Tab) findJS(ctx context.Context, l Locator) ([]Element, error) {
	by := "text"
	if l.By == ByCSS {
		by = "css"
	}
	arr, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](
		fmt.Sprintf("(%s)(%s, %s, %v)", findJS, jsString(by), jsString(l.Name), l.Exact)))
	if err != nil {
		if l.By == ByCSS {
			return nil, fmt.Errorf("css %q: %w", l.Name, err)
		}
		return nil, err
	}
	return t.elements(ctx, arr)
}

// elements are the element nodes of a page array, with their role and
// name from the accessibility tree.
func (t *Tab) elements(ctx context.Context, arr *runtime.RemoteObject) ([]Element, error) {
	props, err := chromedp.Call(ctx, runtime.GetProperties, runtime.GetPropertiesParams{ObjectID: arr.ObjectID, OwnProperties: new(true)})
	if err != nil {
		return nil, err
	}
	var out []Element
	for _, p := range props.Result {
		if p.Value == nil || p.Value.Type != runtime.RemoteObjectTypeObject || p.Value.Subtype != runtime.RemoteObjectSubtypeNode {
			continue
		}
		e := Element{obj: p.Value.ObjectID}
		e.Role, e.Name = t.describe(ctx, e)
		out = append(out, e)
	}
	return out, nil
}

// describe returns an element's role and name from the accessibility tree.
func (t *Tab) describe(ctx context.Context, e Element) (role, name string) {
	res, err := chromedp.Call(ctx, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{ObjectID: e.obj, FetchRelatives: new(false)})
	if err != nil || len(res.Nodes) == 0 {
		return "element", ""
	}
	return axString(res.Nodes[0].Role), axString(res.Nodes[0].Name)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func axString(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Value, &s) == nil {
		return s
	}
	return strings.Trim(string(v.Value), `"`)
}

// call runs a function on an element and decodes its result.
func call[T any](ctx context.Context, e Element, fn string, args ...any) (T, error) {
	var zero T
	c := chromedp.FromContext(ctx)
	if c == nil || c.Target == nil {
		return zero, chromedp.ErrInvalidContext
	}
	cargs := make([]*runtime.CallArgument, len(args))
	for i, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			return zero, err
		}
		cargs[i] = &runtime.CallArgument{Value: b}
	}
	res, err := cdp.Call(ctx, c.Target, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: fn, ObjectID: e.obj, Arguments: cargs, ReturnByValue: new(true), AwaitPromise: new(true),
	})
	if err != nil {
		return zero, err
	}
	if res.ExceptionDetails != nil {
		return zero, fmt.Errorf("in page: %s", exceptionText(res.ExceptionDetails))
	}
	if res.Result == nil || len(res.Result.Value) == 0 {
		return zero, nil
	}
	if err := json.Unmarshal(res.Result.Value, &zero); err != nil {
		return zero, fmt.Errorf("decode %s: %w", res.Result.Value, err)
	}
	return zero, nil
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// Wait finds exactly one visible element, waiting until it appears or the
// context ends. The failure names what the page offers instead.
func (t *Tab) Wait(ctx context.Context, l Locator) (Element, error) {
	var el Element
	err := t.run(ctx, func(ctx context.Context) error {
		var last []Element
		err := poll.Until(ctx, poll.Page, func() bool {
			els, err := t.find(ctx, l)
			if err == nil && len(els) == 1 {
				el = els[0]
				return true
			}
			if err == nil {
				last = els
			}
			return false
		})
		if err == nil {
			return nil
		}
		if len(last) > 1 {
			many := make([]string, len(last))
			for i, e := range last {
				many[i] = e.String()
			}
			return &NotFoundError{Locator: l, Many: many}
		}
		// The context has ended: look once more, with a fresh one, for the message.
		nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		return &NotFoundError{Locator: l, Nearest: t.nearest(nctx, l)}
	})
	return el, err
}

// axNodes are the nodes of the page's accessibility tree that match.
// The whole tree is read at once: Chromium brings it up to date and
// answers at once, where Accessibility.queryAXTree waits for the next
// frame (16 ms here, a third of a step).
func axNodes(ctx context.Context, match func(*accessibility.Node) bool) ([]*accessibility.Node, error) {
	all, err := axTree(ctx)
	if err != nil {
		return nil, err
	}
	var out []*accessibility.Node
	for _, n := range all {
		if match(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// axTree reads the page's whole accessibility tree.
func axTree(ctx context.Context) ([]*accessibility.Node, error) {
	res, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		return nil, fmt.Errorf("read the accessibility tree: %w", err)
	}
	return res.Nodes, nil
}

// nearest lists the names on the page closest to what l looks for.
func (t *Tab) nearest(ctx context.Context, l Locator) []string {
	if l.By == ByCSS {
		return nil
	}
	all, err := axTree(ctx)
	if err != nil {
		return nil
	}
	type cand struct {
		s string
		d int
	}
	seen := map[string]bool{}
	var cs []cand
	want := strings.ToLower(Normalize(l.Name))
	for _, n := range all {
		role, name := axString(n.Role), Normalize(axString(n.Name))
		if n.Ignored || name == "" || slices.Contains(textRoles, role) && l.By != ByText {
			continue
		}
		s := fmt.Sprintf("%s %q", role, name)
		if seen[s] {
			continue
		}
		seen[s] = true
		d := spell.Distance(want, strings.ToLower(name))
		if strings.Contains(strings.ToLower(name), want) || strings.Contains(want, strings.ToLower(name)) {
			d = min(d, utf8.RuneCountInString(want)/2)
		}
		cs = append(cs, cand{s, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].s)
	}
	return out
}
