package browser_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/internal/kaputest"
)

const tabPage = `<!doctype html><html lang="hu"><head><title>Tab</title>
<style>#rejtett:focus { outline: none; } button:focus-visible { outline: 3px solid orange; }</style></head>
<body><main>
<a href="#">Első</a>
<button id="rejtett">Nem látszik</button>
<input type="radio" name="r" value="a" aria-label="A"> <input type="radio" name="r" value="b" aria-label="B" checked>
<button tabindex="2">Kettő</button> <button tabindex="1">Egy</button>
<button disabled>Tiltott</button> <span tabindex="-1">Kimarad</span>
<div style="height: 3000px"></div>
<label>Név <input id="nev"></label>
<div style="height: 3000px"></div>
<button>Utolsó</button>
</main></body></html>`

// The Tab order: positive tabindex first, then the document's order, one
// stop per radio group (the checked one), nothing disabled or negative;
// a stop whose focus shows nothing is said to be so; the focus and the
// scroll position are put back where they were.
func TestTabOrder(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tabPage)) }))
	defer ts.Close()
	tab := kaputest.Tab(t)
	ctx := stepCtx(t)
	if _, err := tab.Open(ctx, ts.URL); err != nil {
		t.Fatal(err)
	}
	if err := tab.Focus(ctx, field("Név")); err != nil {
		t.Fatal(err)
	}
	scrolled := func() string {
		t.Helper()
		b, err := tab.Evaluate(ctx, `window.scrollY`)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := scrolled()
	if before == "0" {
		t.Fatal("focusing Név did not scroll the page: the test page is too short")
	}
	stops, err := tab.TabOrder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after := scrolled(); after != before {
		t.Errorf("scrolled to %s by the Tab order, was %s", after, before)
	}
	var got []string
	for _, s := range stops {
		got = append(got, s.String())
	}
	want := []string{
		`button "Egy" (focus visible)`, `button "Kettő" (focus visible)`, `link "Első" (focus visible)`,
		`button "Nem látszik" (NO VISIBLE FOCUS)`, `radio "B" (focus visible)`, `textbox "Név" (focus visible)`, `button "Utolsó" (focus visible)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Tab order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f, _ := tab.FocusedElement(ctx); !strings.Contains(f, "Név") {
		t.Errorf("the focus is on %s after, not back on Név", f)
	}
}
