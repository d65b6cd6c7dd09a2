package flow

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// assertKind is one key of an expect step. This one table feeds the
// parser, the suggestions, the JSON Schema, kapu help and the README; the
// runner keeps one check per name, and a test there ties the two.
type assertKind struct {
	doc    string
	decode func(c *compiler, k, v *yaml.Node) []Assertion
	schema func() map[string]any // the JSON Schema of the key's value
	show   func(a Assertion) string
}

var assertKinds map[string]assertKind

func init() {
	assertKinds = map[string]assertKind{
		"alert":     wantText("an alert (role=alert) says exactly this"),
		"no-alert":  {doc: "no alert is shown (true)", decode: decodeNoAlert, schema: schemaConstTrue, show: func(Assertion) string { return "no alert" }},
		"heading":   wantText("a heading has exactly this name"),
		"text":      wantText("the page's visible text contains this"),
		"no-text":   wantText("the page's visible text does not contain this"),
		"title":     wantText("the page's title is exactly this"),
		"url":       wantText("the page's URL contains this"),
		"value":     {doc: "fields (by label) have exactly these values: {label: value}", decode: decodeValue, schema: schemaValue, show: showValue},
		"checked":   aboutElement("a checkbox is ticked", checkRoles),
		"unchecked": aboutElement("a checkbox is not ticked", checkRoles),
		"expanded":  aboutElement("a control's aria-expanded is true", clickRoles),
		"collapsed": aboutElement("a control's aria-expanded is false", clickRoles),
		"focused":   aboutElement("this element has the keyboard focus", nil),
		"visible":   aboutElement("this element is shown", nil),
		"absent":    aboutElement("no such element is shown", nil),
		"attr":      {doc: "an element's attributes: {of: target, NAME: value}", decode: decodeAttr, schema: schemaAttr, show: showAttr},
		"equal":     compareValues("these values are all equal: [a, b, …]"),
		"different": compareValues("these values are all different: [a, b, …]"),
	}
}

// Assertions returns the keys of expect, sorted, with their documentation.
func Assertions() [][2]string {
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(assertKinds)) {
		out = append(out, [2]string{k, assertKinds[k].doc})
	}
	return out
}

func (a Assertion) String() string {
	if k, ok := assertKinds[a.What]; ok {
		return k.show(a)
	}
	return a.What
}

// wantText is an assertion about a text: the page's, a heading's…
func wantText(doc string) assertKind {
	return assertKind{doc: doc,
		decode: func(c *compiler, k, v *yaml.Node) []Assertion {
			t, ok := c.text(v, k.Value)
			if !ok {
				return nil
			}
			return []Assertion{{At: c.pos(k), What: k.Value, Want: t}}
		},
		schema: func() map[string]any { return map[string]any{"$ref": "#/$defs/text"} },
		show:   func(a Assertion) string { return fmt.Sprintf("%s %q", a.What, a.Want.Raw) },
	}
}

// aboutElement is an assertion about one element, found among roles.
func aboutElement(doc string, roles []string) assertKind {
	return assertKind{doc: doc,
		decode: func(c *compiler, k, v *yaml.Node) []Assertion {
			t, ok := c.target(v, roles)
			if !ok {
				return nil
			}
			return []Assertion{{At: c.pos(k), What: k.Value, Target: t}}
		},
		schema: func() map[string]any { return map[string]any{"$ref": "#/$defs/target"} },
		show:   func(a Assertion) string { return fmt.Sprintf("%s %s", a.What, a.Target) },
	}
}

// compareValues is equal or different: a list of two or more values.
func compareValues(doc string) assertKind {
	return assertKind{doc: doc,
		decode: func(c *compiler, k, v *yaml.Node) []Assertion {
			if v.Kind != yaml.SequenceNode || len(v.Content) < 2 {
				c.errorf(v, "%s: want a list of two or more values", k.Value)
				return nil
			}
			a := Assertion{At: c.pos(k), What: k.Value}
			for _, e := range v.Content {
				if t, ok := c.text(e, k.Value); ok {
					a.Values = append(a.Values, t)
				}
			}
			return []Assertion{a}
		},
		schema: func() map[string]any {
			return map[string]any{"type": "array", "minItems": 2, "items": schemaText()}
		},
		show: func(a Assertion) string {
			vs := make([]string, len(a.Values))
			for i, v := range a.Values {
				vs[i] = v.Raw
			}
			return a.What + " " + strings.Join(vs, ", ")
		},
	}
}

func decodeNoAlert(c *compiler, k, v *yaml.Node) []Assertion {
	if v.Tag != "!!bool" || v.Value != "true" {
		c.errorf(v, "no-alert: want true")
		return nil
	}
	return []Assertion{{At: c.pos(k), What: k.Value}}
}

func schemaConstTrue() map[string]any { return map[string]any{"const": true} }

func decodeValue(c *compiler, _, v *yaml.Node) []Assertion {
	if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		c.errorf(v, "value: want label: value pairs")
		return nil
	}
	var out []Assertion
	for j := 0; j+1 < len(v.Content); j += 2 {
		label, ok1 := c.text(v.Content[j], "value label")
		want, ok2 := c.text(v.Content[j+1], "value")
		if ok1 && ok2 {
			out = append(out, Assertion{At: c.pos(v.Content[j]), What: "value",
				Target: Target{By: ByLabel, Value: label, Exact: true}, Want: want})
		}
	}
	return out
}

func schemaValue() map[string]any {
	return map[string]any{"type": "object", "minProperties": 1, "additionalProperties": schemaText()}
}

func showValue(a Assertion) string { return fmt.Sprintf("value of %s = %q", a.Target, a.Want.Raw) }

func decodeAttr(c *compiler, _, v *yaml.Node) []Assertion {
	if v.Kind != yaml.MappingNode {
		c.errorf(v, "attr: want {of: target, NAME: value}")
		return nil
	}
	var of *yaml.Node
	for j := 0; j+1 < len(v.Content); j += 2 {
		if v.Content[j].Value == "of" {
			of = v.Content[j+1]
		}
	}
	if of == nil {
		c.errorf(v, "attr: say which element with of: (of: {label: 6 jegyű kód})")
		return nil
	}
	t, ok := c.target(of, nil)
	if !ok {
		return nil
	}
	var out []Assertion
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		if k.Value == "of" {
			continue
		}
		want, ok := c.text(val, "attr "+k.Value)
		if !ok {
			continue
		}
		out = append(out, Assertion{At: c.pos(k), What: "attr", Target: t, Attr: k.Value, Want: want})
	}
	if len(out) == 0 {
		c.errorf(v, "attr: name at least one attribute and its value")
	}
	return out
}

func schemaAttr() map[string]any {
	return map[string]any{"type": "object", "required": []string{"of"}, "minProperties": 2,
		"properties": map[string]any{"of": schemaTarget()}, "additionalProperties": schemaText()}
}

func showAttr(a Assertion) string {
	return fmt.Sprintf("%s of %s = %q", a.Attr, a.Target, a.Want.Raw)
}

func decodeExpect(c *compiler, n *yaml.Node, b Common, _ map[string]*yaml.Node) []Step {
	keys := slices.Sorted(maps.Keys(assertKinds))
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		c.errorf(n, "expect: want one or more of %s, such as {alert: Hibás jelszó.}", strings.Join(keys, ", "))
		return nil
	}
	s := Expect{Common: b}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kind, ok := assertKinds[k.Value]
		if !ok {
			c.errorf(k, "unknown expectation %q%s", k.Value, didYouMean(k.Value, keys))
			continue
		}
		s.Assertions = append(s.Assertions, kind.decode(c, k, v)...)
	}
	if len(s.Assertions) == 0 {
		return nil
	}
	return []Step{s}
}

// schemaExpect is the JSON Schema of an expect step's value.
func schemaExpect() any {
	props := map[string]any{}
	for name, k := range assertKinds {
		s := k.schema()
		s["description"] = k.doc
		props[name] = s
	}
	return map[string]any{"type": "object", "minProperties": 1, "additionalProperties": false, "properties": props}
}
