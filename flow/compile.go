package flow

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"
)

// Flow is one runnable plan: a flow file, or one named case of it.
type Flow struct {
	Name        string // the flow's name, with " / case" for a case
	Case        string // the case's name, or ""
	File        string
	At          Pos
	Needs       []string // capabilities of the target: "test-api"
	Destructive string   // why it must not run on a shared account, or ""
	Timeout     time.Duration
	Vars        []Var
	Steps       []Step
	// After is the teardown: run after Steps, passed or failed. It runs
	// only when every variable in AfterNeeds was set by then: a flow that
	// never read what undoing needs (the törlőkód) changed nothing to undo.
	After      []Step
	AfterNeeds []string
}

// Var is a variable set before the first step.
type Var struct {
	Name   string
	Value  Text
	Secret bool
	At     Pos
}

// DefaultTimeout is a step's timeout when the flow sets none.
const DefaultTimeout = 10 * time.Second

// MaxIncludeDepth bounds includes (cycles are reported before it).
const MaxIncludeDepth = 16

// Loader reads flow files. ReadFile defaults to os.ReadFile.
type Loader struct {
	ReadFile func(path string) ([]byte, error)

	files     map[string]*yaml.Node // parsed, by path
	bad       map[string]bool       // files whose syntax errors are reported
	libraries map[string]bool       // files compiled as step libraries
	diags     Diagnostics
}

// Load compiles the flow files named by paths (files or directories,
// searched for *.yaml and *.yml). It returns every problem of every file
// at once as Diagnostics. Files without a name are step libraries for
// include: checked, never run.
func Load(paths ...string) ([]*Flow, error) {
	set, err := LoadFiles(paths...)
	return set.Flows, err
}

// Files is what a list of paths holds: the flows to run and the step
// libraries (files with only steps) that were checked beside them.
type Files struct {
	Flows     []*Flow
	Libraries []string // paths of the step libraries, in order
}

// LoadFiles is Load that also names the step libraries it checked, so that
// kapu validate can validate a library on its own.
func LoadFiles(paths ...string) (Files, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return Files{}, fmt.Errorf("flow files: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return Files{}, fmt.Errorf("flow files: %w", err)
		}
	}
	l := &Loader{}
	var set Files
	for _, f := range files {
		fl, _ := l.Compile(f)
		set.Flows = append(set.Flows, fl...)
		if l.libraries[f] {
			set.Libraries = append(set.Libraries, f)
		}
	}
	if len(l.diags) > 0 {
		l.diags.sort()
		l.diags = l.diags.unique()
		return Files{}, l.diags
	}
	return set, nil
}

// Compile compiles one file; the Diagnostics are those found so far by l.
func (l *Loader) Compile(path string) ([]*Flow, Diagnostics) {
	if l.ReadFile == nil {
		l.ReadFile = os.ReadFile
	}
	if l.files == nil {
		l.files, l.bad, l.libraries = map[string]*yaml.Node{}, map[string]bool{}, map[string]bool{}
	}
	root, ok := l.parse(path, Pos{File: path, Line: 1, Col: 1})
	if !ok {
		l.diags.sort()
		l.diags = l.diags.unique()
		return nil, l.diags
	}
	c := &compiler{l: l, file: path}
	flows := c.compileFile(root)
	l.diags.sort()
	l.diags = l.diags.unique()
	return flows, l.diags
}

// Diagnostics returns the problems found so far, sorted.
func (l *Loader) Diagnostics() Diagnostics {
	l.diags.sort()
	l.diags = l.diags.unique()
	return l.diags
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads and parses path once; from is where it was asked for.
func (l *Loader) parse(path string, from Pos) (*yaml.Node, bool) {
	if n, ok := l.files[path]; ok {
		return n, n != nil
	}
	l.files[path] = nil
	src, err := l.ReadFile(path)
	if err != nil {
		msg := fmt.Sprintf("read %s: %v", path, err)
		if errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("no such file %s", path)
		}
		l.diags = append(l.diags, Diagnostic{from, msg})
		return nil, false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		l.diags = append(l.diags, yamlDiagnostic(path, err))
		return nil, false
	}
	if len(doc.Content) == 0 {
		l.diags = append(l.diags, Diagnostic{Pos{path, 1, 1}, "empty flow file: want a mapping with name and steps"})
		return nil, false
	}
	l.files[path] = doc.Content[0]
	return doc.Content[0], true
}

// yamlDiagnostic rewraps a yaml.v3 error, which carries only a line.
func yamlDiagnostic(path string, err error) Diagnostic {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Diagnostic{Pos{path, line, 1}, "YAML: " + m[2]}
	}
	return Diagnostic{Pos{path, 1, 1}, "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// compiler compiles one file, with its includes.
type compiler struct {
	l     *Loader
	file  string
	scope map[string]varKind // defined variables
	stack []string           // include chain, for cycles
	depth int
	refs  *[]string // when set, the variables the texts use are noted here
}

type varKind int

const (
	plainVar varKind = iota
	userVar
)

func (c *compiler) errorf(n *yaml.Node, format string, args ...any) {
	c.l.diags = append(c.l.diags, Diagnostic{c.pos(n), fmt.Sprintf(format, args...)})
}

func (c *compiler) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{c.file, 1, 1}
	}
	return Pos{c.file, n.Line, n.Column}
}

var topFields = []string{"name", "description", "needs", "destructive", "timeout", "vars", "secrets", "before", "steps", "after", "cases"}
var caseFields = []string{"name", "description", "needs", "destructive", "timeout", "vars", "steps", "after"}

// fields checks that n is a mapping with only allowed keys, each once,
// and returns the values by key with the key nodes.
func (c *compiler) fields(n *yaml.Node, what string, allowed []string) (vals map[string]*yaml.Node, keys map[string]*yaml.Node, ok bool) {
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "%s: want a mapping (key: value), found %s", what, describe(n))
		return nil, nil, false
	}
	vals, keys = map[string]*yaml.Node{}, map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			c.errorf(k, "unknown field %q in %s%s", k.Value, what, didYouMean(k.Value, allowed))
			continue
		}
		if _, dup := vals[k.Value]; dup {
			c.errorf(k, "%s: field %q given twice", what, k.Value)
			continue
		}
		vals[k.Value], keys[k.Value] = v, k
	}
	return vals, keys, true
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (c *compiler) compileFile(root *yaml.Node) []*Flow {
	f, keys, ok := c.fields(root, "flow file", topFields)
	if !ok {
		return nil
	}
	if f["name"] == nil {
		if f["steps"] == nil {
			c.errorf(root, "a flow needs a name and steps; a step library (for include) needs steps")
			return nil
		}
		// A step library: check it on its own, with no variables known.
		c.l.libraries[c.file] = true
		c.scope = nil
		c.steps(f["steps"])
		return nil
	}
	base := &Flow{File: c.file, At: c.pos(keys["name"]), Timeout: DefaultTimeout}
	base.Name, _ = c.scalar(f["name"], "name")
	if base.Name == "" {
		c.errorf(f["name"], "name must not be empty")
	}
	c.flowHead(base, f)
	secrets := map[string]bool{}
	if n := f["secrets"]; n != nil {
		for _, s := range c.list(n, "secrets") {
			secrets[s.Value] = true
		}
	}
	c.scope = map[string]varKind{}
	base.Vars = c.vars(f["vars"], secrets)
	for name := range secrets {
		if !slices.ContainsFunc(base.Vars, func(v Var) bool { return v.Name == name }) {
			c.errorf(f["secrets"], "secrets: %q is not among vars", name)
		}
	}
	if f["cases"] == nil {
		if f["before"] != nil {
			c.errorf(keys["before"], "before: only with cases (steps run before each case)")
		}
		if f["steps"] == nil {
			c.errorf(root, "flow %q has no steps: add steps, or cases", base.Name)
			return nil
		}
		base.Steps = c.steps(f["steps"])
		c.after(base, f["after"])
		return []*Flow{base}
	}
	if f["steps"] != nil {
		c.errorf(keys["steps"], "a flow has steps or cases, not both: put shared steps under before")
	}
	if f["cases"].Kind != yaml.SequenceNode || len(f["cases"].Content) == 0 {
		c.errorf(f["cases"], "cases: want a list of cases, each with name and steps")
		return nil
	}
	return c.cases(base, f["cases"], f["before"], f["after"])
}

// after compiles teardown nodes, in order, in the scope the steps left,
// noting the variables they use.
func (c *compiler) after(fl *Flow, nodes ...*yaml.Node) {
	var refs []string
	known := maps.Clone(c.scope) // what the steps may have set; not what after sets itself
	c.refs = &refs
	defer func() { c.refs = nil }()
	for _, n := range nodes {
		if n != nil {
			fl.After = append(fl.After, c.steps(n)...)
		}
	}
	slices.Sort(refs)
	for _, r := range slices.Compact(refs) {
		if _, ok := known[r]; ok {
			fl.AfterNeeds = append(fl.AfterNeeds, r)
		}
	}
}

// cases compiles the cases of a flow: each its own flow, the shared
// before steps first.
func (c *compiler) cases(base *Flow, cases, beforeNode, afterNode *yaml.Node) []*Flow {
	outer := maps.Clone(c.scope)
	var before []Step
	if beforeNode != nil {
		before = c.steps(beforeNode)
	}
	afterBefore := maps.Clone(c.scope)
	var flows []*Flow
	names := map[string]bool{}
	for _, cn := range cases.Content {
		cf, ckeys, ok := c.fields(cn, "case", caseFields)
		if !ok {
			continue
		}
		fl := *base
		fl.Needs = slices.Clone(base.Needs)
		fl.Case, _ = c.scalar(cf["name"], "case name")
		if cf["name"] == nil || fl.Case == "" {
			c.errorf(cn, "a case needs a name")
		} else if names[fl.Case] {
			c.errorf(cf["name"], "case %q is named twice", fl.Case)
		}
		names[fl.Case] = true
		fl.Name = base.Name + " / " + fl.Case
		fl.At = c.pos(ckeys["name"])
		c.flowHead(&fl, cf)
		c.scope = maps.Clone(outer)
		fl.Vars = append(slices.Clone(base.Vars), c.vars(cf["vars"], nil)...)
		// The case's vars are set before the shared steps run.
		maps.Copy(c.scope, afterBefore)
		if cf["steps"] == nil {
			c.errorf(cn, "case %q has no steps", fl.Case)
			continue
		}
		fl.Steps = append(slices.Clone(before), c.steps(cf["steps"])...)
		c.after(&fl, cf["after"], afterNode)
		flows = append(flows, &fl)
	}
	return flows
}

// flowHead reads the fields shared by flows and cases.
func (c *compiler) flowHead(fl *Flow, f map[string]*yaml.Node) {
	if n := f["needs"]; n != nil {
		for _, s := range c.list(n, "needs") {
			if !slices.Contains(Capabilities, s.Value) {
				c.errorf(s, "needs: unknown capability %q (known: %s)%s", s.Value, strings.Join(Capabilities, ", "), didYouMean(s.Value, Capabilities))
				continue
			}
			if !slices.Contains(fl.Needs, s.Value) {
				fl.Needs = append(fl.Needs, s.Value)
			}
		}
	}
	if n := f["destructive"]; n != nil {
		fl.Destructive, _ = c.scalar(n, "destructive")
		if fl.Destructive == "" {
			c.errorf(n, "destructive: say why, e.g. \"locks the user for 15 minutes\"")
		}
	}
	if n := f["timeout"]; n != nil {
		if d, ok := c.duration(n, "timeout"); ok {
			fl.Timeout = d
		}
	}
}

// list reads a scalar or a list of scalars.
func (c *compiler) list(n *yaml.Node, what string) []*yaml.Node {
	switch n.Kind {
	case yaml.ScalarNode:
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				c.errorf(e, "%s: want a word, found %s", what, describe(e))
				continue
			}
			out = append(out, e)
		}
		return out
	}
	c.errorf(n, "%s: want a word or a list of words, found %s", what, describe(n))
	return nil
}

func (c *compiler) vars(n *yaml.Node, secrets map[string]bool) []Var {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "vars: want a mapping of name: value, found %s", describe(n))
		return nil
	}
	var out []Var
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !validName(k.Value) {
			c.errorf(k, "vars: bad name %q: letters, digits, _ and -, starting with a letter", k.Value)
			continue
		}
		t, ok := c.text(v, "vars."+k.Value)
		if !ok {
			continue
		}
		out = append(out, Var{Name: k.Value, Value: t, Secret: secrets[k.Value], At: c.pos(k)})
		c.scope[k.Value] = plainVar
	}
	return out
}

// scalar reads a scalar as a string.
func (c *compiler) scalar(n *yaml.Node, what string) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		c.errorf(n, "%s: want text, found %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// text reads a scalar with variables, checking each against the scope.
func (c *compiler) text(n *yaml.Node, what string) (Text, bool) {
	s, ok := c.scalar(n, what)
	if !ok {
		return Text{}, false
	}
	at := c.pos(n)
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		at.Col++ // the quote
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		at.Line++ // the text starts on the next line; columns are approximate
	}
	t, diags := parseText(norm.NFC.String(s), at)
	c.l.diags = append(c.l.diags, diags...)
	for _, r := range t.Refs() {
		c.checkRef(r)
		if c.refs != nil && !r.Env() {
			*c.refs = append(*c.refs, r.Name)
		}
	}
	return t, len(diags) == 0
}

// checkRef reports a variable that is not defined at this point.
func (c *compiler) checkRef(r Ref) {
	if r.Env() || c.scope == nil || !validName(r.Name) {
		return // env vars are read at run time; libraries are checked where included
	}
	kind, ok := c.scope[r.Name]
	if !ok {
		c.l.diags = append(c.l.diags, Diagnostic{r.Pos, fmt.Sprintf("undefined variable %s%s", r, didYouMean(r.Name, slices.Sorted(maps.Keys(c.scope))))})
		return
	}
	if r.Field == "" {
		return
	}
	fields := KeyFields
	if kind == userVar {
		fields = UserFields
	}
	if !slices.Contains(fields, r.Field) {
		c.l.diags = append(c.l.diags, Diagnostic{r.Pos, fmt.Sprintf("%s has no field %q (fields: %s)%s", r.Name, r.Field, strings.Join(fields, ", "), didYouMean(r.Field, fields))})
	}
}

func (c *compiler) define(n *yaml.Node, name string, kind varKind) {
	if !validName(name) || Lit(name).Raw != name || (Ref{Name: name}).Env() {
		c.errorf(n, "as: bad variable name %q: lower-case letters, digits, _ and -", name)
		return
	}
	if c.scope != nil {
		c.scope[name] = kind
	}
}

var durationRe = regexp.MustCompile(`^\d+(\.\d+)?(ms|s|m|h)(\d+(\.\d+)?(ms|s|m|h))*$`)

func (c *compiler) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := c.scalar(n, what)
	if !ok {
		return 0, false
	}
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	d, err := time.ParseDuration(body)
	if err != nil || !durationRe.MatchString(body) {
		c.errorf(n, "%s: %q is not a duration: write it like 30s, 500ms, 1m30s", what, s)
		return 0, false
	}
	if neg {
		d = -d
	}
	return d, true
}

func (c *compiler) positive(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := c.duration(n, what)
	if ok && d < 0 {
		c.errorf(n, "%s: must not be negative", what)
		return 0, false
	}
	return d, ok
}
