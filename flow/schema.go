package flow

import (
	"encoding/json"
	"maps"
	"slices"
)

// The JSON Schema (draft 2020-12) of flow files, for editors
// (yaml-language-server) and for checking: built from the kinds table.

func schemaText() any     { return map[string]any{"$ref": "#/$defs/text"} }
func schemaTarget() any   { return map[string]any{"$ref": "#/$defs/target"} }
func schemaDuration() any { return map[string]any{"$ref": "#/$defs/duration"} }
func schemaPress() any {
	return map[string]any{"oneOf": []any{map[string]any{"$ref": "#/$defs/key"}, map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/key"}, "minItems": 1}}}
}
func schemaFill() any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "object", "required": []string{"into", "value"}, "additionalProperties": false,
			"properties": map[string]any{"into": schemaTarget(), "value": schemaText()}},
		map[string]any{"type": "object", "minProperties": 1, "not": map[string]any{"anyOf": []any{map[string]any{"required": []string{"into"}}, map[string]any{"required": []string{"value"}}}},
			"additionalProperties": schemaText(), "description": "label: value pairs"},
	}}
}
func schemaClock() any {
	d := schemaDuration()
	return map[string]any{"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false,
		"properties": map[string]any{"advance": d, "before-boundary": d, "after-boundary": d}}
}
func schemaAxe() any {
	return map[string]any{"oneOf": []any{map[string]any{"const": true},
		map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
			"ignore": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}}}
}
func schemaUser() any { return map[string]any{"const": "fresh"} }
func schemaSet() any {
	return map[string]any{"type": "object", "minProperties": 1, "additionalProperties": schemaText()}
}
func schemaExpect() any {
	props := map[string]any{}
	for k, doc := range assertions {
		var s map[string]any
		switch k {
		case "alert", "heading", "text", "no-text", "title", "url":
			s = map[string]any{"$ref": "#/$defs/text"}
		case "no-alert":
			s = map[string]any{"const": true}
		case "value":
			s = map[string]any{"type": "object", "minProperties": 1, "additionalProperties": schemaText()}
		case "attr":
			s = map[string]any{"type": "object", "required": []string{"of"}, "minProperties": 2,
				"properties": map[string]any{"of": schemaTarget()}, "additionalProperties": schemaText()}
		case "equal", "different":
			s = map[string]any{"type": "array", "minItems": 2, "items": schemaText()}
		default:
			s = map[string]any{"$ref": "#/$defs/target"}
		}
		s["description"] = doc
		props[k] = s
	}
	return map[string]any{"type": "object", "minProperties": 1, "additionalProperties": false, "properties": props}
}

// Schema returns the JSON Schema of flow files, indented.
func Schema() []byte {
	var steps []any
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		k := kinds[name]
		props := map[string]any{
			name:      withDoc(k.schema(), k.doc),
			"timeout": map[string]any{"$ref": "#/$defs/duration", "description": "this step's timeout"},
			"note":    map[string]any{"type": "string", "description": "what the step is for, for reviewers"},
		}
		for _, m := range k.mods {
			props[m] = modSchema(m)
		}
		steps = append(steps, map[string]any{
			"type": "object", "required": []string{name}, "additionalProperties": false,
			"properties": props, "description": k.doc,
		})
	}
	head := map[string]any{
		"name":        map[string]any{"type": "string", "minLength": 1, "description": "what the flow checks"},
		"description": map[string]any{"type": "string"},
		"needs":       map[string]any{"oneOf": []any{capSchema(), map[string]any{"type": "array", "items": capSchema()}}, "description": "what the target must offer; else the flow is skipped"},
		"destructive": map[string]any{"type": "string", "minLength": 1, "description": "why it must not run on a shared staging account (skipped there unless --allow-destructive)"},
		"timeout":     map[string]any{"$ref": "#/$defs/duration", "description": "each step's timeout (default 10s)"},
		"vars":        map[string]any{"type": "object", "additionalProperties": schemaText(), "propertyNames": map[string]any{"pattern": "^[A-Za-z_][A-Za-z0-9_-]*$"}},
	}
	flowProps := maps.Clone(head)
	flowProps["secrets"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "vars whose values are masked"}
	flowProps["before"] = map[string]any{"$ref": "#/$defs/steps", "description": "steps run before each case"}
	flowProps["steps"] = map[string]any{"$ref": "#/$defs/steps"}
	caseProps := maps.Clone(head)
	caseProps["steps"] = map[string]any{"$ref": "#/$defs/steps"}
	flowProps["cases"] = map[string]any{"type": "array", "minItems": 1, "items": map[string]any{
		"type": "object", "required": []string{"name", "steps"}, "additionalProperties": false, "properties": caseProps}}
	var keys []any
	for _, k := range Keys {
		keys = append(keys, k)
	}
	s := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://kapu.invalid/flow.schema.json",
		"$comment":             "Generated by `kapu schema` from the step table in flow/kinds.go; do not edit: make schema regenerates it",
		"title":                "kapu flow",
		"description":          "A kapu flow file: a name, variables and steps; or a step library (steps only) for include.",
		"type":                 "object",
		"properties":           flowProps,
		"additionalProperties": false,
		"anyOf": []any{
			map[string]any{"required": []string{"name", "steps"}},
			map[string]any{"required": []string{"name", "cases"}},
			map[string]any{"required": []string{"steps"}, "not": map[string]any{"required": []string{"name"}}},
		},
		"$defs": map[string]any{
			"text":     map[string]any{"type": []string{"string", "number", "boolean"}, "description": "text; ${name}, ${name.field} and ${ENV_VAR} are replaced"},
			"duration": map[string]any{"type": "string", "pattern": `^[-+]?\d+(\.\d+)?(ms|s|m|h)(\d+(\.\d+)?(ms|s|m|h))*$`},
			"key":      map[string]any{"type": "string", "description": "a key (" + join(Keys) + "), a character, or a chord such as Shift+Tab"},
			"target": map[string]any{"oneOf": []any{
				map[string]any{"type": "string", "minLength": 1, "description": "an accessible name, matched exactly"},
				map[string]any{"type": "object", "additionalProperties": false, "minProperties": 1,
					"properties": map[string]any{
						"role":  map[string]any{"oneOf": []any{roleSchema(), map[string]any{"type": "array", "items": roleSchema(), "minItems": 1}}},
						"name":  schemaText(),
						"label": schemaText(),
						"text":  schemaText(),
						"css":   map[string]any{"type": "string", "description": "escape hatch: flows that use CSS depend on markup"},
						"exact": map[string]any{"type": "boolean", "description": "false: a part of the name or text is enough"},
					}},
			}},
			"steps": map[string]any{"type": "array", "items": map[string]any{"oneOf": steps}},
		},
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // static data
	}
	return append(b, '\n')
}

func withDoc(s any, doc string) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	m = maps.Clone(m)
	m["description"] = doc
	return m
}

func modSchema(m string) any {
	switch m {
	case "as":
		return map[string]any{"type": "string", "pattern": "^[a-z_][A-Za-z0-9_-]*$", "description": "the variable to keep the value in"}
	case "secret":
		return map[string]any{"type": "boolean", "description": "mask the value everywhere"}
	case "skew":
		return map[string]any{"$ref": "#/$defs/duration", "description": "the phone clock's offset from the IdP clock"}
	case "attr":
		return map[string]any{"type": "string", "description": "read this attribute (href…) instead of the value or text"}
	case "with":
		return map[string]any{"type": "object", "additionalProperties": schemaText()}
	}
	return map[string]any{}
}

func roleSchema() any {
	var rs []any
	for _, r := range Roles {
		rs = append(rs, r)
	}
	return map[string]any{"enum": rs}
}

func capSchema() any {
	var cs []any
	for _, c := range Capabilities {
		cs = append(cs, c)
	}
	return map[string]any{"enum": cs}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}
