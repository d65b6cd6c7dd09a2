package flow

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Step is one typed step of a plan. The runner switches on its type.
type Step interface {
	Pos() Pos
	Kind() string
	Base() Common // where it is and its modifiers
}

// Common is what every step has: where it is, and its modifiers.
type Common struct {
	At      Pos
	Timeout time.Duration // 0: the flow's default
	Note    string        // what the step is for, shown to reviewers
	Via     []Pos         // the include steps that pulled it in, innermost first
}

func (b Common) Pos() Pos { return b.At }

// Where is the step's file:line:col, and those of the includes that
// pulled it in: "steps/login.yaml:5:5 (included at login.yaml:10:5)".
func (b Common) Where() string {
	s := b.At.String()
	for i, v := range b.Via {
		if i == 0 {
			s += " (included at " + v.String()
		} else {
			s += ", from " + v.String()
		}
	}
	if len(b.Via) > 0 {
		s += ")"
	}
	return s
}

// via returns s, pulled in by the include step at p.
func via(s Step, p Pos) Step {
	v := reflect.New(reflect.TypeOf(s)).Elem()
	v.Set(reflect.ValueOf(s))
	c := v.FieldByName("Common")
	c.FieldByName("Via").Set(reflect.ValueOf(append(slices.Clone(s.Base().Via), p)))
	return v.Interface().(Step)
}

// Base returns what the step has in common with every other: each step
// embeds a Common, so the runner needs no switch to read it.
func (b Common) Base() Common { return b }

// By is how a Target finds an element.
type By int

const (
	ByName  By = iota // role and accessible name, from the browser's accessibility tree
	ByLabel           // a form field by its label (its accessible name)
	ByText            // visible text
	ByCSS             // CSS: the explicit escape hatch
)

// Target finds one element the way a person perceives it.
type Target struct {
	By    By
	Roles []string // ByName, ByLabel: roles that may match; empty: any
	Value Text
	Exact bool // names and texts match exactly (after normalisation) unless false

	Explicit bool // the flow named the roles (else they are the step's defaults)
}

func (t Target) String() string {
	v := fmt.Sprintf("%q", t.Value.Raw)
	if !t.Exact {
		v = "~" + v
	}
	switch t.By {
	case ByLabel:
		return "field " + v
	case ByText:
		return "text " + v
	case ByCSS:
		return "css " + v
	}
	if len(t.Roles) == 0 {
		return "element " + v
	}
	return strings.Join(t.Roles, "/") + " " + v
}

// The steps.
type (
	// Open loads a path (relative to the target) or a URL.
	Open struct {
		Common
		URL Text
	}
	// Click clicks what Target finds (keyboard-only mode: focus + Enter/Space).
	Click struct {
		Common
		Target Target
	}
	// Fill replaces the value of a field.
	Fill struct {
		Common
		Target Target
		Value  Text
	}
	// Check ticks (or unticks) a checkbox.
	Check struct {
		Common
		Target  Target
		Checked bool
	}
	// Press presses keys, one after another: "Tab", "Shift+Tab", "Enter".
	Press struct {
		Common
		Keys []string
	}
	// Type types text into the focused element, as a keyboard would.
	Type struct {
		Common
		Text Text
	}
	// TabTo presses Tab until Target has the focus (keyboard-only flows).
	TabTo struct {
		Common
		Target Target
	}
	// Focus moves the focus to an element.
	Focus struct {
		Common
		Target Target
	}
	// Expect waits until every assertion holds, or fails at the timeout.
	Expect struct {
		Common
		Assertions []Assertion
	}
	// Scan reads the QR code in an element's pixels into a variable.
	Scan struct {
		Common
		Target Target
		As     string
	}
	// Read keeps an element's text, value or attribute in a variable.
	Read struct {
		Common
		Target Target
		Attr   string // "": the value of a field, else the text
		As     string
		Secret bool
	}
	// TOTP computes the code of a key at phone time.
	TOTP struct {
		Common
		Key  Text          // an otpauth URI or a base32 secret
		Skew time.Duration // phone clock minus IdP clock
		As   string
	}
	// Clock moves the IdP clock (test API) or waits for the wall clock.
	Clock struct {
		Common
		Move ClockMove
		D    time.Duration
	}
	// Wait waits a real duration.
	Wait struct {
		Common
		D time.Duration
	}
	// User makes a fresh user (test API) or takes an account of the pool
	// (--users; KAPU_USERNAME/KAPU_PASSWORD): not enrolled, or, with
	// Enrolled, enrolled with a known key.
	User struct {
		Common
		As       string
		Enrolled bool
	}
	// Set gives a variable a value.
	Set struct {
		Common
		Name   string
		Value  Text
		Secret bool
	}
	// Axe checks the page with axe-core.
	Axe struct {
		Common
		Ignore []string // rule ids turned off
	}
	// Device switches to another browser context, as a second device.
	Device struct {
		Common
		Name string
	}
	// Screenshot keeps a named screenshot for the report.
	Screenshot struct {
		Common
		Name string
	}
)

// ClockMove is what a Clock step does.
type ClockMove int

const (
	Advance        ClockMove = iota // move on by D
	BeforeBoundary                  // to D before the next 30 s boundary
	AfterBoundary                   // to D after the next 30 s boundary
)

func (Open) Kind() string       { return "open" }
func (Click) Kind() string      { return "click" }
func (Fill) Kind() string       { return "fill" }
func (s Check) Kind() string    { return map[bool]string{true: "check", false: "uncheck"}[s.Checked] }
func (Press) Kind() string      { return "press" }
func (Type) Kind() string       { return "type" }
func (Focus) Kind() string      { return "focus" }
func (TabTo) Kind() string      { return "tab-to" }
func (Expect) Kind() string     { return "expect" }
func (Scan) Kind() string       { return "scan" }
func (Read) Kind() string       { return "read" }
func (TOTP) Kind() string       { return "totp" }
func (Clock) Kind() string      { return "clock" }
func (Wait) Kind() string       { return "wait" }
func (User) Kind() string       { return "user" }
func (Set) Kind() string        { return "set" }
func (Screenshot) Kind() string { return "screenshot" }
func (Device) Kind() string     { return "device" }
func (Axe) Kind() string        { return "axe" }

// Assertion is one thing an Expect step checks.
type Assertion struct {
	At     Pos
	What   string // a key of the assertion table (expect.go)
	Target Target // the element it is about, if any
	Want   Text   // the expected text or value
	Values []Text // equal, different
	Attr   string // attr: the attribute's name
}

// Roles that steps look among by default.
var (
	clickRoles = []string{"button", "link", "checkbox", "radio", "switch", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "option", "treeitem"}
	fieldRoles = []string{"textbox", "searchbox", "combobox", "spinbutton"}
	checkRoles = []string{"checkbox", "switch", "radio", "menuitemcheckbox", "menuitemradio"}
	imageRoles = []string{"img", "image"}
)

// Roles are the ARIA roles a locator may name (WAI-ARIA 1.2, with
// Chromium's "image" for img).
var Roles = []string{
	"alert", "alertdialog", "application", "article", "banner", "blockquote", "button", "caption", "cell",
	"checkbox", "code", "columnheader", "combobox", "complementary", "contentinfo", "definition", "deletion",
	"dialog", "document", "emphasis", "feed", "figure", "form", "generic", "grid", "gridcell", "group", "heading",
	"image", "img", "insertion", "link", "list", "listbox", "listitem", "log", "main", "marquee", "math", "menu",
	"menubar", "menuitem", "menuitemcheckbox", "menuitemradio", "meter", "navigation", "none", "note", "option",
	"paragraph", "presentation", "progressbar", "radio", "radiogroup", "region", "row", "rowgroup", "rowheader",
	"scrollbar", "search", "searchbox", "separator", "slider", "spinbutton", "status", "strong", "subscript",
	"superscript", "switch", "tab", "table", "tablist", "tabpanel", "term", "textbox", "time", "timer",
	"toolbar", "tooltip", "tree", "treegrid", "treeitem",
}

// Keys that press accepts, beside single characters.
var Keys = []string{
	"Enter", "Tab", "Space", "Escape", "Backspace", "Delete", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
	"Home", "End", "PageUp", "PageDown",
}

// Capabilities a flow may need of its target.
var Capabilities = []string{"test-api"}

// KeyFields are the fields of a variable that holds an otpauth URI
// (or, for secret, a base32 key).
var KeyFields = []string{"secret", "issuer", "account", "label", "algorithm", "digits", "period", "scheme", "type"}

// UserFields are the fields of a user variable.
// secret and recovery are those of an enrolled account of the pool.
var UserFields = []string{"username", "password", "name", "secret", "recovery"}
