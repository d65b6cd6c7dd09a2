package runner

import "testing"

// The Tab order is listed again only when what it depends on changed: a
// value typed or a focus moved keeps the key, an element, name or state
// that changed makes a new one.
func TestTabOrderKey(t *testing.T) {
	t.Parallel()
	page := func(edit func([]AXLine)) string {
		tree := []AXLine{
			{Depth: 0, Role: "RootWebArea", Name: "Bejelentkezés", Focused: true},
			{Depth: 1, Role: "textbox", Name: "Felhasználónév", States: []string{"required"}},
			{Depth: 1, Role: "checkbox", Name: "Elmentettem", States: []string{"not checked"}},
			{Depth: 1, Role: "button", Name: "Tovább"},
		}
		if edit != nil {
			edit(tree)
		}
		return tabOrderKey(tree)
	}
	base := page(nil)
	same := map[string]func([]AXLine){
		"a value typed": func(t []AXLine) { t[1].Value = "teszt-elek" },
		"focus moved":   func(t []AXLine) { t[0].Focused, t[1].Focused = false, true },
	}
	for name, edit := range same {
		if page(edit) != base {
			t.Errorf("%s: new key, want the same", name)
		}
	}
	other := map[string]func([]AXLine){
		"ticked":         func(t []AXLine) { t[2].States = []string{"checked"} },
		"disabled":       func(t []AXLine) { t[3].States = []string{"disabled"} },
		"renamed":        func(t []AXLine) { t[3].Name = "Mégse" },
		"another role":   func(t []AXLine) { t[3].Role = "link" },
		"moved in depth": func(t []AXLine) { t[3].Depth = 2 },
	}
	for name, edit := range other {
		if page(edit) == base {
			t.Errorf("%s: same key, want a new one", name)
		}
	}
}
