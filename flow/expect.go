package flow

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// assertions are the keys of an expect step, with what each checks.
var assertions = map[string]string{
	"alert":     "an alert (role=alert) says exactly this",
	"no-alert":  "no alert is shown (true)",
	"heading":   "a heading has exactly this name",
	"text":      "the page's visible text contains this",
	"no-text":   "the page's visible text does not contain this",
	"title":     "the page's title is exactly this",
	"url":       "the page's URL contains this",
	"value":     "fields (by label) have exactly these values: {label: value}",
	"checked":   "a checkbox is ticked",
	"unchecked": "a checkbox is not ticked",
	"expanded":  "a control's aria-expanded is true",
	"collapsed": "a control's aria-expanded is false",
	"focused":   "this element has the keyboard focus",
	"visible":   "this element is shown",
	"absent":    "no such element is shown",
	"attr":      "an element's attributes: {of: target, NAME: value}",
	"equal":     "these values are all equal: [a, b, …]",
	"different": "these values are all different: [a, b, …]",
}

// Assertions returns the keys of expect, sorted, with their documentation.
func Assertions() [][2]string {
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(assertions)) {
		out = append(out, [2]string{k, assertions[k]})
	}
	return out
}

func decodeExpect(c *compiler, n *yaml.Node, b Base, _ map[string]*yaml.Node) []Step {
	keys := slices.Sorted(maps.Keys(assertions))
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		c.errorf(n, "expect: want one or more of %s, such as {alert: Hibás jelszó.}", strings.Join(keys, ", "))
		return nil
	}
	s := Expect{Base: b}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, ok := assertions[k.Value]; !ok {
			c.errorf(k, "unknown expectation %q%s", k.Value, didYouMean(k.Value, keys))
			continue
		}
		a := Assertion{At: c.pos(k), What: k.Value}
		ok := true
		switch k.Value {
		case "alert", "heading", "text", "no-text", "title", "url":
			a.Want, ok = c.text(v, k.Value)
		case "no-alert":
			if v.Tag != "!!bool" || v.Value != "true" {
				c.errorf(v, "no-alert: want true")
				ok = false
			}
		case "checked", "unchecked":
			a.Target, ok = c.target(v, checkRoles)
		case "expanded", "collapsed":
			a.Target, ok = c.target(v, clickRoles)
		case "focused", "visible", "absent":
			a.Target, ok = c.target(v, nil)
		case "value":
			if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
				c.errorf(v, "value: want label: value pairs")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				label, ok1 := c.text(v.Content[j], "value label")
				want, ok2 := c.text(v.Content[j+1], "value")
				if ok1 && ok2 {
					s.Assertions = append(s.Assertions, Assertion{At: c.pos(v.Content[j]), What: "value",
						Target: Target{By: ByLabel, Value: label, Exact: true}, Want: want})
				}
			}
			continue
		case "attr":
			s.Assertions = append(s.Assertions, c.attrs(v)...)
			continue
		case "equal", "different":
			if v.Kind != yaml.SequenceNode || len(v.Content) < 2 {
				c.errorf(v, "%s: want a list of two or more values", k.Value)
				continue
			}
			for _, e := range v.Content {
				t, ok := c.text(e, k.Value)
				if ok {
					a.Values = append(a.Values, t)
				}
			}
		}
		if ok {
			s.Assertions = append(s.Assertions, a)
		}
	}
	if len(s.Assertions) == 0 {
		return nil
	}
	return []Step{s}
}

func (c *compiler) attrs(v *yaml.Node) []Assertion {
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

func (a Assertion) String() string {
	switch a.What {
	case "no-alert":
		return "no alert"
	case "value":
		return fmt.Sprintf("value of %s = %q", a.Target, a.Want.Raw)
	case "attr":
		return fmt.Sprintf("%s of %s = %q", a.Attr, a.Target, a.Want.Raw)
	case "checked", "unchecked", "expanded", "collapsed", "focused", "visible", "absent":
		return fmt.Sprintf("%s %s", a.What, a.Target)
	case "equal", "different":
		vs := make([]string, len(a.Values))
		for i, v := range a.Values {
			vs[i] = v.Raw
		}
		return a.What + " " + strings.Join(vs, ", ")
	}
	return fmt.Sprintf("%s %q", a.What, a.Want.Raw)
}
