package flow

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// kind is one step kind. This one table feeds the parser, the
// suggestions, the JSON Schema and kapu help.
type kind struct {
	doc     string
	example string
	mods    []string // modifiers beside timeout and note
	decode  func(c *compiler, n *yaml.Node, b Common, m map[string]*yaml.Node) []Step
	schema  func() any // the JSON Schema of the kind's value
}

var kinds map[string]kind

func init() {
	kinds = map[string]kind{
		"open": {doc: "open a path (relative to the target) or a URL", example: "open: /",
			decode: decodeOpen, schema: schemaText},
		"click": {doc: "click what a person sees: a name (button, link…), or role+name, label, text or css", example: "click: Ügyfélkapu+",
			decode: decodeTargetStep(clickRoles, func(b Common, t Target) Step { return Click{b, t} }), schema: schemaTarget},
		"fill": {doc: "fill fields by label: a mapping of label: value (replaces the value)", example: "fill: {Felhasználónév: ${user.username}, Jelszó: ${user.password}}",
			decode: decodeFill, schema: schemaFill},
		"check": {doc: "tick a checkbox by its label", example: "check: A fenti törlőkód mentéséről gondoskodtam",
			decode: decodeTargetStep(checkRoles, func(b Common, t Target) Step { return Check{b, t, true} }), schema: schemaTarget},
		"uncheck": {doc: "untick a checkbox by its label", example: "uncheck: A fenti törlőkód mentéséről gondoskodtam",
			decode: decodeTargetStep(checkRoles, func(b Common, t Target) Step { return Check{b, t, false} }), schema: schemaTarget},
		"press": {doc: "press keys one after another: Tab, Shift+Tab, Enter, Space, Escape, arrows…", example: "press: [Tab, Enter]",
			decode: decodePress, schema: schemaPress},
		"type": {doc: "type text into the focused element, key by key", example: "type: ${code}",
			decode: decodeType, schema: schemaText},
		"tab-to": {doc: "press Tab until an element has the focus, as a keyboard user does; fails if Tab never reaches it", example: "tab-to: Bejelentkezés",
			decode: decodeTargetStep(nil, func(b Common, t Target) Step { return TabTo{b, t} }), schema: schemaTarget},
		"focus": {doc: "move the focus to an element", example: "focus: Felhasználónév",
			decode: decodeTargetStep(nil, func(b Common, t Target) Step { return Focus{b, t} }), schema: schemaTarget},
		"expect": {doc: "wait until every assertion holds (the table of assertions: alert, heading, text, value, focused…); fail at the timeout with expected against found", example: "expect: {alert: Hibás vagy lejárt kód.}",
			decode: decodeExpect, schema: schemaExpect},
		"scan": {doc: "read the QR code in an element's pixels into a variable (as:); an otpauth URI gives .secret, .issuer, .account…", example: "scan: QR-kód\n  as: qr",
			mods: []string{"as"}, decode: decodeScan, schema: schemaTarget},
		"read": {doc: "keep an element's value or text (or attr:) in a variable (as:); secret: true masks it", example: "read: Törlőkód\n  as: torlokod\n  secret: true",
			mods: []string{"as", "attr", "secret"}, decode: decodeRead, schema: schemaTarget},
		"totp": {doc: "compute the 6-digit code of a key at phone time (IdP clock, or wall clock); skew: the phone's clock offset", example: "totp: qr\n  as: code",
			mods: []string{"as", "skew"}, decode: decodeTOTP, schema: schemaText},
		"clock": {doc: "move time: advance: 29s, before-boundary: 1s, after-boundary: 1s (test API; else waits for real)", example: "clock: {before-boundary: 1s}",
			decode: decodeClock, schema: schemaClock},
		"wait": {doc: "wait a real duration", example: "wait: 2s",
			decode: decodeWait, schema: schemaDuration},
		"user": {doc: "a user for the flow's whole run: fresh (not enrolled) through the test API, else an account of the pool (--users, KAPU_USERNAME); enrolled: an account enrolled with a known key (${user.secret}, ${user.recovery}; a pool's); gives ${user.username}, ${user.password}, ${user.name}", example: "user: fresh",
			mods: []string{"as"}, decode: decodeUser, schema: schemaUser},
		"set": {doc: "set variables: a mapping of name: value", example: "set: {greeting: Sikeres bejelentkezés}",
			mods: []string{"secret"}, decode: decodeSet, schema: schemaSet},
		"axe": {doc: "check the page with axe-core (WCAG 2.1 A and AA) and for a single h1; fails on any violation, shows undecided rules as warnings; {ignore: [rule]} turns rules off", example: "axe: true",
			decode: decodeAxe, schema: schemaAxe},
		"device": {doc: "go on in another browser (own cookies), as on a second device; made on first use; \"main\" is the first", example: "device: phone",
			decode: decodeDevice, schema: schemaText},
		"screenshot": {doc: "keep a named screenshot for the report", example: "screenshot: QR page",
			decode: decodeScreenshot, schema: schemaText},
		"include": {doc: "run the steps of another file (path relative to this one); with: sets variables", example: "include: steps/login.yaml",
			mods: []string{"with"}, schema: schemaText},
	}
}

// Kinds returns the step kinds, sorted, with their documentation.
func Kinds() []struct{ Name, Doc, Example string } {
	var out []struct{ Name, Doc, Example string }
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		k := kinds[name]
		out = append(out, struct{ Name, Doc, Example string }{name, k.doc, k.example})
	}
	return out
}

var commonMods = []string{"timeout", "note"}

// steps compiles a list of steps.
func (c *compiler) steps(n *yaml.Node) []Step {
	if n.Kind != yaml.SequenceNode {
		c.errorf(n, "steps: want a list of steps (- open: /), found %s", describe(n))
		return nil
	}
	var out []Step
	for _, sn := range n.Content {
		out = append(out, c.step(sn)...)
	}
	return out
}

func (c *compiler) step(n *yaml.Node) []Step {
	names := slices.Sorted(maps.Keys(kinds))
	if n.Kind == yaml.ScalarNode {
		msg := fmt.Sprintf("a step is a mapping such as \"- click: Tovább\", found %s", describe(n))
		if _, ok := kinds[n.Value]; !ok {
			msg += didYouMean(n.Value, names)
		}
		c.errorf(n, "%s", msg)
		return nil
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		c.errorf(n, "a step is a mapping such as \"- click: Tovább\", found %s", describe(n))
		return nil
	}
	// The kind is the one key that names a step kind; the rest are modifiers.
	var kindKey, kindVal *yaml.Node
	var k kind
	mods := map[string]*yaml.Node{}
	modKeys := map[string]*yaml.Node{}
	var unknown []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if kk, ok := kinds[key.Value]; ok {
			if kindKey != nil {
				c.errorf(key, "one step per list item: %q and %q are two steps (start %q with \"- \")", kindKey.Value, key.Value, key.Value)
				continue
			}
			kindKey, kindVal, k = key, val, kk
			continue
		}
		if _, dup := mods[key.Value]; dup {
			c.errorf(key, "%q given twice", key.Value)
			continue
		}
		mods[key.Value], modKeys[key.Value] = val, key
		unknown = append(unknown, key)
	}
	if kindKey == nil {
		first := n.Content[0]
		c.errorf(first, "unknown step %q%s", first.Value, didYouMean(first.Value, names))
		return nil
	}
	allowed := append(slices.Clone(commonMods), k.mods...)
	for _, key := range unknown {
		if !slices.Contains(allowed, key.Value) {
			hint := didYouMean(key.Value, append(slices.Clone(allowed), names...))
			c.errorf(key, "unknown field %q in step %q (fields: %s)%s", key.Value, kindKey.Value, strings.Join(allowed, ", "), hint)
			delete(mods, key.Value)
		}
	}
	b := Common{At: c.pos(kindKey)}
	if t := mods["timeout"]; t != nil {
		if d, ok := c.positive(t, "timeout"); ok {
			if d == 0 {
				c.errorf(t, "timeout: must be more than 0")
			}
			b.Timeout = d
		}
	}
	if nn := mods["note"]; nn != nil {
		b.Note, _ = c.scalar(nn, "note")
	}
	if kindKey.Value == "include" {
		return c.include(kindVal, mods["with"])
	}
	return k.decode(c, kindVal, b, mods)
}

// target reads a locator: a name (string) looked for among roles, or a
// mapping of role+name, label, text or css, with exact.
func (c *compiler) target(n *yaml.Node, roles []string) (Target, bool) {
	if n.Kind == yaml.ScalarNode {
		t, ok := c.text(n, "target")
		if ok && t.Raw == "" {
			c.errorf(n, "target: empty name")
			return Target{}, false
		}
		return Target{By: ByName, Roles: roles, Value: t, Exact: true}, ok
	}
	f, _, ok := c.fields(n, "target", []string{"role", "name", "label", "text", "css", "exact"})
	if !ok {
		return Target{}, false
	}
	t := Target{Exact: true, Roles: roles}
	set := 0
	for _, by := range []struct {
		key string
		by  By
	}{{"name", ByName}, {"label", ByLabel}, {"text", ByText}, {"css", ByCSS}} {
		if v := f[by.key]; v != nil {
			set++
			t.By = by.by
			t.Value, ok = c.text(v, by.key)
			if !ok {
				return Target{}, false
			}
		}
	}
	if r := f["role"]; r != nil {
		t.Roles, t.Explicit = nil, true
		for _, rn := range c.list(r, "role") {
			if !slices.Contains(Roles, rn.Value) {
				c.errorf(rn, "unknown role %q%s", rn.Value, didYouMean(rn.Value, Roles))
				continue
			}
			t.Roles = append(t.Roles, rn.Value)
		}
		if set == 0 {
			c.errorf(n, "target: role needs a name too (role: button, name: Tovább)")
			return Target{}, false
		}
		if t.By != ByName && t.By != ByLabel {
			c.errorf(r, "target: role goes with name or label, not with text or css")
		}
	}
	if t.By == ByLabel && f["role"] == nil {
		t.Roles = nil // any labelled control
	}
	if t.By == ByCSS || t.By == ByText {
		t.Roles = nil
	}
	if set != 1 {
		c.errorf(n, "target: give exactly one of name, label, text or css")
		return Target{}, false
	}
	if e := f["exact"]; e != nil {
		if e.Tag != "!!bool" {
			c.errorf(e, "exact: want true or false, found %s", describe(e))
		} else {
			t.Exact = e.Value == "true"
		}
	}
	return t, true
}

func decodeTargetStep(roles []string, mk func(Common, Target) Step) func(*compiler, *yaml.Node, Common, map[string]*yaml.Node) []Step {
	return func(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
		t, ok := c.target(n, roles)
		if !ok {
			return nil
		}
		return []Step{mk(b, t)}
	}
}

func decodeOpen(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	t, ok := c.text(n, "open")
	if !ok {
		return nil
	}
	if t.Raw == "" {
		c.errorf(n, "open: want a path such as / or a URL")
		return nil
	}
	return []Step{Open{b, t}}
}

func decodeFill(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		c.errorf(n, "fill: want label: value pairs, such as {Jelszó: ${user.password}}, or {into: {css: …}, value: …}")
		return nil
	}
	// The explicit form: {into: TARGET, value: TEXT}.
	if n.Content[0].Value == "into" || n.Content[0].Value == "value" {
		f, _, ok := c.fields(n, "fill", []string{"into", "value"})
		if !ok || f["into"] == nil || f["value"] == nil {
			if ok {
				c.errorf(n, "fill: the explicit form needs into and value")
			}
			return nil
		}
		t, ok := c.target(f["into"], fieldRoles)
		v, ok2 := c.text(f["value"], "value")
		if !ok || !ok2 {
			return nil
		}
		return []Step{Fill{b, t, v}}
	}
	var out []Step
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		label, ok := c.text(k, "fill label")
		val, ok2 := c.text(v, "fill value")
		if !ok || !ok2 {
			continue
		}
		sb := b
		sb.At = c.pos(k)
		out = append(out, Fill{sb, Target{By: ByLabel, Value: label, Exact: true}, val})
	}
	return out
}

func decodePress(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	var keys []string
	for _, kn := range c.list(n, "press") {
		if err := validKey(kn.Value); err != "" {
			c.errorf(kn, "press: %s", err)
			continue
		}
		keys = append(keys, kn.Value)
	}
	if len(keys) == 0 {
		return nil
	}
	return []Step{Press{b, keys}}
}

// validKey checks a key chord such as "Shift+Tab" or "a".
func validKey(s string) string {
	parts := strings.Split(s, "+")
	key := parts[len(parts)-1]
	if s == "+" {
		return ""
	}
	for _, m := range parts[:len(parts)-1] {
		if !slices.Contains([]string{"Shift", "Control", "Alt", "Meta"}, m) {
			return fmt.Sprintf("unknown modifier %q in %q (Shift, Control, Alt, Meta)%s", m, s, didYouMean(m, []string{"Shift", "Control", "Alt", "Meta"}))
		}
	}
	if len([]rune(key)) == 1 || slices.Contains(Keys, key) {
		return ""
	}
	return fmt.Sprintf("unknown key %q%s", key, didYouMean(key, Keys))
}

func decodeType(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	t, ok := c.text(n, "type")
	if !ok {
		return nil
	}
	return []Step{Type{b, t}}
}

func (c *compiler) as(m map[string]*yaml.Node, what string, def string, kind varKind) string {
	n := m["as"]
	if n == nil {
		if def == "" {
			return ""
		}
		c.define(nil, def, kind)
		return def
	}
	name, ok := c.scalar(n, "as")
	if !ok {
		return ""
	}
	c.define(n, name, kind)
	return name
}

func (c *compiler) requireAs(m map[string]*yaml.Node, kindNode *yaml.Node, step string) bool {
	if m["as"] == nil {
		c.errorf(kindNode, "%s: say where to keep the value with as: NAME", step)
		return false
	}
	return true
}

func decodeScan(c *compiler, n *yaml.Node, b Common, m map[string]*yaml.Node) []Step {
	t, ok := c.target(n, imageRoles)
	if !ok || !c.requireAs(m, n, "scan") {
		return nil
	}
	return []Step{Scan{b, t, c.as(m, "scan", "", plainVar)}}
}

func decodeRead(c *compiler, n *yaml.Node, b Common, m map[string]*yaml.Node) []Step {
	t, ok := c.target(n, nil)
	if !ok || !c.requireAs(m, n, "read") {
		return nil
	}
	s := Read{Common: b, Target: t}
	if a := m["attr"]; a != nil {
		s.Attr, _ = c.scalar(a, "attr")
	}
	s.Secret = c.boolean(m["secret"], "secret")
	s.As = c.as(m, "read", "", plainVar)
	return []Step{s}
}

func (c *compiler) boolean(n *yaml.Node, what string) bool {
	if n == nil {
		return false
	}
	if n.Tag != "!!bool" {
		c.errorf(n, "%s: want true or false, found %s", what, describe(n))
		return false
	}
	return n.Value == "true"
}

func decodeTOTP(c *compiler, n *yaml.Node, b Common, m map[string]*yaml.Node) []Step {
	s, ok := c.scalar(n, "totp")
	if !ok {
		return nil
	}
	// A bare name is a variable: "totp: qr" is "totp: ${qr}", and
	// "totp: user.secret" is "totp: ${user.secret}".
	if name, field, dotted := strings.Cut(s, "."); validName(name) && (!dotted || validName(field)) {
		n2 := *n
		n2.Value = "${" + s + "}"
		n2.Style = 0
		n = &n2
	}
	key, ok := c.text(n, "totp")
	if !ok {
		return nil
	}
	st := TOTP{Common: b, Key: key}
	if sk := m["skew"]; sk != nil {
		st.Skew, _ = c.duration(sk, "skew")
	}
	if !c.requireAs(m, n, "totp") {
		return nil
	}
	st.As = c.as(m, "totp", "", plainVar)
	return []Step{st}
}

func decodeClock(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	f, _, ok := c.fields(n, "clock", []string{"advance", "before-boundary", "after-boundary"})
	if !ok {
		return nil
	}
	if len(f) != 1 {
		c.errorf(n, "clock: give exactly one of advance, before-boundary, after-boundary")
		return nil
	}
	for k, v := range f {
		d, ok := c.positive(v, "clock "+k)
		if !ok {
			return nil
		}
		move := map[string]ClockMove{"advance": Advance, "before-boundary": BeforeBoundary, "after-boundary": AfterBoundary}[k]
		if move != Advance && d >= 30*time.Second {
			c.errorf(v, "clock %s: want less than 30s (one TOTP step)", k)
			return nil
		}
		return []Step{Clock{b, move, d}}
	}
	return nil
}

func decodeWait(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	d, ok := c.positive(n, "wait")
	if !ok {
		return nil
	}
	return []Step{Wait{b, d}}
}

func decodeUser(c *compiler, n *yaml.Node, b Common, m map[string]*yaml.Node) []Step {
	s, ok := c.scalar(n, "user")
	if !ok || s != "fresh" && s != "enrolled" {
		if ok {
			c.errorf(n, "user: want \"fresh\" or \"enrolled\"%s", didYouMean(s, []string{"fresh", "enrolled"}))
		}
		return nil
	}
	return []Step{User{b, c.as(m, "user", "user", userVar), s == "enrolled"}}
}

func decodeSet(c *compiler, n *yaml.Node, b Common, m map[string]*yaml.Node) []Step {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		c.errorf(n, "set: want name: value pairs")
		return nil
	}
	secret := c.boolean(m["secret"], "secret")
	var out []Step
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		t, ok := c.text(v, "set "+k.Value)
		if !ok {
			continue
		}
		c.define(k, k.Value, plainVar)
		sb := b
		sb.At = c.pos(k)
		out = append(out, Set{sb, k.Value, t, secret})
	}
	return out
}

func decodeAxe(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	if n.Kind == yaml.ScalarNode {
		if n.Tag != "!!bool" || n.Value != "true" {
			c.errorf(n, "axe: want true, or {ignore: [rule-id, …]}")
			return nil
		}
		return []Step{Axe{Common: b}}
	}
	f, _, ok := c.fields(n, "axe", []string{"ignore"})
	if !ok {
		return nil
	}
	s := Axe{Common: b}
	if f["ignore"] != nil {
		for _, r := range c.list(f["ignore"], "ignore") {
			s.Ignore = append(s.Ignore, r.Value)
		}
	}
	return []Step{s}
}

func decodeDevice(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	s, ok := c.scalar(n, "device")
	if !ok {
		return nil
	}
	if !validName(s) {
		c.errorf(n, "device: want a name such as phone (letters, digits, _ and -)")
		return nil
	}
	return []Step{Device{b, s}}
}

func decodeScreenshot(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	s, ok := c.scalar(n, "screenshot")
	if !ok {
		return nil
	}
	return []Step{Screenshot{b, s}}
}

// include compiles another file's steps in place, in the current scope.
func (c *compiler) include(n, with *yaml.Node) []Step {
	rel, ok := c.scalar(n, "include")
	if !ok {
		return nil
	}
	path := filepath.Join(filepath.Dir(c.file), filepath.FromSlash(rel))
	if slices.Contains(c.stack, path) || path == c.file {
		chain := append(append([]string{c.file}, c.stack...), path)
		c.errorf(n, "include cycle: %s", strings.Join(chain, " → "))
		return nil
	}
	if c.depth >= MaxIncludeDepth {
		c.errorf(n, "includes nested deeper than %d", MaxIncludeDepth)
		return nil
	}
	var out []Step
	if with != nil {
		if with.Kind != yaml.MappingNode {
			c.errorf(with, "with: want name: value pairs")
		} else {
			out = append(out, decodeSet(c, with, Common{At: c.pos(with)}, nil)...)
		}
	}
	root, ok := c.l.parse(path, c.pos(n))
	if !ok {
		return out
	}
	sub := &compiler{l: c.l, file: path, scope: c.scope, stack: append(slices.Clone(c.stack), c.file), depth: c.depth + 1, refs: c.refs}
	f, _, ok := sub.fields(root, "step library", []string{"description", "steps"})
	if !ok {
		return out
	}
	if f["steps"] == nil {
		sub.errorf(root, "a step library needs steps")
		return out
	}
	for _, st := range sub.steps(f["steps"]) {
		out = append(out, via(st, c.pos(n)))
	}
	return out
}
