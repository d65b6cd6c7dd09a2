package flow

import (
	"fmt"
	"strings"
)

// Text is a value that may hold variables: "${user.username}",
// "${qr.secret}", "${KAPU_PASSWORD}". "$${" stands for a literal "${".
type Text struct {
	Raw   string
	parts []part
}

type part struct {
	lit string
	ref *Ref
}

// Ref is one ${name} or ${name.field} in a Text.
type Ref struct {
	Name, Field string
	Pos         Pos
}

func (r Ref) String() string {
	if r.Field != "" {
		return "${" + r.Name + "." + r.Field + "}"
	}
	return "${" + r.Name + "}"
}

// Env tells whether the reference names an environment variable: names in
// capitals (KAPU_PASSWORD) are read from the environment at run time.
func (r Ref) Env() bool {
	if r.Field != "" || r.Name == "" {
		return false
	}
	for _, c := range r.Name {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return r.Name[0] < '0' || r.Name[0] > '9'
}

// Lit returns a Text with no variables.
func Lit(s string) Text { return Text{Raw: s, parts: []part{{lit: s}}} }

// parseText reads the variables of s; at is where s starts in its file.
func parseText(s string, at Pos) (Text, []Diagnostic) {
	t := Text{Raw: s}
	var diags []Diagnostic
	var lit strings.Builder
	col := func(byteOff int) Pos {
		p := at
		p.Col += len([]rune(s[:byteOff]))
		return p
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				diags = append(diags, Diagnostic{col(i), `unclosed "${": write "${name}", or "$${" for a literal "${"`})
				lit.WriteString(s[i:])
				i = len(s)
				continue
			}
			body := s[i+2 : i+end]
			name, field, _ := strings.Cut(body, ".")
			ref := &Ref{Name: name, Field: field, Pos: col(i)}
			if !validName(name) || (strings.Contains(body, ".") && !validName(field)) || strings.Count(body, ".") > 1 {
				diags = append(diags, Diagnostic{col(i), fmt.Sprintf("bad variable %q: want ${name} or ${name.field} (letters, digits, _ and -)", "${"+body+"}")})
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, part{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, part{ref: ref})
			i += end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 || len(t.parts) == 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, diags
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// Refs lists the variables of t.
func (t Text) Refs() []Ref {
	var out []Ref
	for _, p := range t.parts {
		if p.ref != nil {
			out = append(out, *p.ref)
		}
	}
	return out
}

// Literal returns t's value when it has no variables.
func (t Text) Literal() (string, bool) {
	if len(t.parts) == 1 && t.parts[0].ref == nil {
		return t.parts[0].lit, true
	}
	if len(t.parts) == 0 {
		return "", true
	}
	return "", false
}

// Expand returns t with each variable replaced by get's value.
func (t Text) Expand(get func(Ref) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.ref == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := get(*p.ref)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func (t Text) String() string { return t.Raw }
