package report

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/runner"
)

// The HTML report: one page and its pictures (img/, by content, so a
// screen seen at many steps is one file), readable with no network.
// Failed flows first, then flaky, passed and skipped; a filter by status
// and a search by name that work by keyboard; the failing step open with
// its screenshot, error and file:line:col; every step's picture in a
// filmstrip; a timeline of step durations; the accessibility tree once per
// page state.

type htmlData struct {
	Started                        string
	Took                           string
	Total                          int
	Passed, Failed, Flaky, Skipped int
	Flows                          []htmlFlow
}

type htmlFlow struct {
	ID, Name, File string
	Line           int
	Status         runner.Status
	Reason, Err    string
	Earlier        []string
	Attempts       int
	Took           time.Duration
	Steps          []htmlStep
	Longest        time.Duration
}

type htmlStep struct {
	StepData
	ID     string
	Took   time.Duration
	Pct    float64 // of the flow's longest step, for the timeline
	SameAs int     // the earlier step with this page state (0: new)
	Open   bool
	// NewScreen is the step's picture when it differs from the step
	// before's: the filmstrip shows each screen once.
	NewScreen string
}

// statusRank puts failed flows first.
var statusRank = map[runner.Status]int{runner.Failed: 0, runner.Flaky: 1, runner.Passed: 2, runner.Skipped: 3}

// WriteHTML writes dir/index.html and the pictures it shows.
func WriteHTML(dir string, res *Results) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "img"), 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	d := htmlData{Started: res.Started.Format("2006-01-02 15:04:05"), Took: fmt.Sprintf("%.1f s", time.Duration(res.Took).Seconds()), Total: len(res.Flows)}
	d.Passed, d.Failed, d.Flaky, d.Skipped = res.Counts()
	flows := slices.Clone(res.Flows)
	slices.SortStableFunc(flows, func(a, b *FlowResult) int { return cmp.Compare(statusRank[a.Status], statusRank[b.Status]) })
	for i, f := range flows {
		hf, err := htmlFlowOf(i, f, filepath.Join(dir, "img"))
		if err != nil {
			return "", err
		}
		d.Flows = append(d.Flows, hf)
	}
	p := filepath.Join(dir, "index.html")
	w, err := os.Create(p)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if err := writeHTML(w, d); err != nil {
		w.Close()
		return "", fmt.Errorf("report: %w", err)
	}
	return p, w.Close()
}

func writeHTML(w io.Writer, d htmlData) error { return htmlTmpl.Execute(w, d) }

// htmlFlowOf is a flow as the report shows it: its last attempt's steps,
// their pictures copied to img.
func htmlFlowOf(i int, f *FlowResult, img string) (htmlFlow, error) {
	hf := htmlFlow{ID: fmt.Sprintf("f%d", i+1), Name: f.Name, File: f.File, Line: f.Line, Status: f.Status, Reason: f.Reason,
		Earlier: f.earlier(), Attempts: len(f.Attempts), Took: time.Duration(f.Took)}
	last := f.last()
	if last == nil {
		return hf, nil
	}
	hf.Err = last.Err
	seen := map[string]int{} // page state → first step showing it
	prev := ""               // the picture of the step before
	for _, st := range last.Steps {
		hf.Longest = max(hf.Longest, time.Duration(st.Took))
		hs := htmlStep{StepData: st, ID: fmt.Sprintf("%s-s%d", hf.ID, st.N), Took: time.Duration(st.Took), Open: st.Status == runner.Failed}
		if len(st.Tree) > 0 {
			key := treeKey(st.Tree, st.Focus)
			if n, ok := seen[key]; ok {
				hs.SameAs, hs.Tree = n, nil
			} else {
				seen[key] = st.N
			}
		}
		if pic := cmp.Or(st.Shot, st.Thumb); pic != "" && pic != prev {
			hs.NewScreen, prev = pic, pic
		}
		for _, name := range []string{st.Shot, st.Thumb} {
			if err := copyImage(f.src, name, img); err != nil {
				return hf, err
			}
		}
		hf.Steps = append(hf.Steps, hs)
	}
	for i := range hf.Steps {
		if hf.Longest > 0 {
			hf.Steps[i].Pct = max(0.5, 100*float64(hf.Steps[i].Took)/float64(hf.Longest))
		}
	}
	return hf, nil
}

// treeKey names a page state: its accessibility tree and focus.
func treeKey(tree []runner.AXLine, focus string) string {
	var b strings.Builder
	for _, l := range tree {
		fmt.Fprintf(&b, "%d|%s|%s|%s|%v|%v\n", l.Depth, l.Role, l.Name, l.Value, l.States, l.Focused)
	}
	return b.String() + focus
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs":  func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) },
	"ms":    func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) },
	"pad":   func(n int) string { return strings.Repeat("  ", n) },
	"width": func(p float64) template.CSS { return template.CSS(fmt.Sprintf("width:%.1f%%", p)) },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kapu report: {{.Failed}} failed, {{.Flaky}} flaky, {{.Passed}} passed</title>
<style>
body { font: 1rem/1.5 system-ui, "DejaVu Sans", sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
header, main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.15rem; margin: 0; }
a { color: #0b3d91; }
:focus-visible { outline: 3px solid #ffbf47; box-shadow: 0 0 0 5px #1a1a1a; }
.passed { color: #1b5e20; } .failed { color: #a4000f; } .skipped, .flaky, .not-run { color: #6b4e00; }
.status { font-weight: 700; text-transform: uppercase; white-space: nowrap; }
fieldset { border: 1px solid #bbb; border-radius: .3rem; display: inline-block; margin: 0 1rem .5rem 0; }
label { margin-right: .8rem; white-space: nowrap; }
input[type=search] { font: inherit; padding: .2rem .4rem; border: 1px solid #555; min-width: 16rem; }
section.flow { border: 1px solid #bbb; border-radius: .3rem; margin: 1rem 0; padding: .5rem 1rem; }
section.flow > details > summary { font-size: 1.1rem; }
details { margin: .3rem 0; }
summary { cursor: pointer; padding: .2rem 0; }
pre, .tree { font: .85rem/1.4 "DejaVu Sans Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; background: #f2f4f7; padding: .5rem; margin: .3rem 0; }
.err { color: #a4000f; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
img { max-width: 100%; height: auto; border: 1px solid #767676; }
.strip { display: flex; gap: .3rem; overflow-x: auto; padding: .3rem 0; list-style: none; margin: 0; position: relative; }
.strip li { flex: 0 0 auto; text-align: center; font-size: .8rem; position: relative; }
.strip img { width: 7.5rem; display: block; }
.strip .failed img { border: 3px solid #a4000f; }
.timeline { list-style: none; padding: 0; margin: .3rem 0; font-size: .8rem; }
.timeline li { display: grid; grid-template-columns: 3rem minmax(0, 1fr) 5rem; gap: .4rem; align-items: center; }
.timeline i { background: #4a6fa5; height: .7rem; } .timeline .failed i { background: #a4000f; }
.cols { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; }
@media (max-width: 45rem) { .cols { grid-template-columns: 1fr; } }
[hidden] { display: none !important; }
.tabs { font-size: .85rem; margin: .3rem 0; padding-left: 2rem; }
</style>
</head>
<body>
<header>
<h1>kapu report</h1>
<p>{{.Started}} · {{.Total}} flows · <span class="failed">{{.Failed}} failed</span> · <span class="flaky">{{.Flaky}} flaky</span> ·
<span class="passed">{{.Passed}} passed</span> · <span class="skipped">{{.Skipped}} skipped</span> · {{.Took}}</p>
<p>Secrets (passwords, keys, codes, törlőkód) are shown as •••• and blurred in screenshots.</p>
<form id="filter" role="search" aria-label="Filter the flows">
<fieldset><legend>Show</legend>
<label><input type="checkbox" name="status" value="failed" checked> failed ({{.Failed}})</label>
<label><input type="checkbox" name="status" value="flaky" checked> flaky ({{.Flaky}})</label>
<label><input type="checkbox" name="status" value="passed" checked> passed ({{.Passed}})</label>
<label><input type="checkbox" name="status" value="skipped" checked> skipped ({{.Skipped}})</label>
</fieldset>
<label for="q">Search by name</label> <input type="search" id="q" name="q" autocomplete="off">
<p id="shown" role="status" aria-live="polite">{{.Total}} flows shown</p>
</form>
</header>
<main>
{{range .Flows}}
<section class="flow" id="{{.ID}}" data-status="{{.Status}}" data-name="{{.Name}}" aria-labelledby="{{.ID}}-h">
<details{{if or (eq .Status "failed") (eq .Status "flaky")}} open{{end}}>
<summary><h2 id="{{.ID}}-h" style="display:inline"><span class="status {{.Status}}">{{.Status}}</span> <span lang="hu">{{.Name}}</span></h2> <span>({{secs .Took}})</span></summary>
<p>{{.File}}:{{.Line}}{{if gt .Attempts 1}} · {{.Attempts}} attempts{{end}}</p>
{{with .Reason}}<p>Skipped: {{.}}</p>{{end}}
{{with .Err}}<pre class="err">{{.}}</pre>{{end}}
{{range .Earlier}}<p>Failed on an earlier attempt:</p><pre class="err">{{.}}</pre>{{end}}
{{if .Steps}}
<h3 class="visually-hidden">Steps at a glance</h3>
<ol class="strip" aria-label="Each new screen, by step">{{range .Steps}}{{if .NewScreen}}<li class="{{.Status}}"><a href="#{{.ID}}"><img src="img/{{.NewScreen}}" alt="" loading="lazy">{{.N}}<span class="visually-hidden">. step, {{.Status}}</span></a></li>{{end}}{{end}}</ol>
<details><summary>Timeline</summary>
<ol class="timeline" aria-label="Step durations">{{range .Steps}}<li class="{{.Status}}">{{.N}}.<i style="{{width .Pct}}"></i>{{ms .Took}}</li>{{end}}</ol>
</details>
{{range .Steps}}
<details id="{{.ID}}"{{if .Open}} open{{end}}>
<summary><span class="status {{.Status}}">{{.Status}}</span> {{.N}}. <span lang="hu">{{.Text}}</span> ({{ms .Took}})</summary>
{{with .At}}<p>{{.}}</p>{{end}}
{{with .Err}}<pre class="err">{{.}}</pre>{{end}}
{{range .Warnings}}<p class="flaky">Warning: {{.}}</p>{{end}}
<div class="cols">
<div>{{if .Shot}}<img src="img/{{.Shot}}" alt="The page when step {{.N}} failed" loading="lazy">{{else if .Thumb}}<img src="img/{{.Thumb}}" alt="The page after step {{.N}}" loading="lazy">{{end}}</div>
<div>{{with .Focus}}<p>Focus: <span lang="hu">{{.}}</span></p>{{end}}
{{if .SameAs}}<p>Accessibility tree: as after step {{.SameAs}}.</p>{{else if .Tree}}<p>Accessibility tree:</p><pre class="tree" lang="hu">{{range .Tree}}{{pad .Depth}}{{.Role}}{{with .Name}} “{{.}}”{{end}}{{with .Value}} = “{{.}}”{{end}}{{range .States}} [{{.}}]{{end}}{{if .Focused}} ← focus{{end}}
{{end}}</pre>{{end}}
{{if .TabOrder}}<p>Tab order:</p><ol class="tabs" lang="hu">{{range .TabOrder}}<li>{{.Role}} “{{.Name}}”{{if not .FocusVisible}} <strong class="failed">no visible focus</strong>{{end}}</li>{{end}}</ol>{{end}}</div>
</div>
</details>
{{end}}
{{end}}
</details>
</section>
{{end}}
</main>
<script>
(function () {
  var form = document.getElementById("filter"), q = document.getElementById("q"), shown = document.getElementById("shown");
  function apply() {
    var want = {}, n = 0, text = q.value.trim().toLowerCase();
    form.querySelectorAll("input[name=status]").forEach(function (c) { want[c.value] = c.checked; });
    document.querySelectorAll("section.flow").forEach(function (s) {
      var ok = want[s.dataset.status] && (!text || s.dataset.name.toLowerCase().indexOf(text) >= 0);
      s.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n + (n === 1 ? " flow shown" : " flows shown");
  }
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
})();
</script>
</body>
</html>
`))
