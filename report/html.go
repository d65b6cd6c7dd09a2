package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/runner"
)

// HTML collects the events of a run and writes one self-contained page
// (no network: pictures inline) with every flow and step: its status,
// time, masked text, screenshot, the page's accessibility tree and focus.
type HTML struct {
	mu    sync.Mutex
	flows map[*flow.Flow]*htmlFlow
}

type htmlFlow struct {
	Attempt int
	Steps   []htmlStep
}

type htmlStep struct {
	N        int
	Text     string
	Status   runner.Status
	Err      string
	Warnings []string
	Took     time.Duration
	Shot     template.URL
	Tree     []runner.AXLine
	Focus    string
}

// NewHTML returns an empty report.
func NewHTML() *HTML { return &HTML{flows: map[*flow.Flow]*htmlFlow{}} }

// Event records ev.
func (h *HTML) Event(ev runner.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch ev.Kind {
	case runner.FlowStart:
		h.flows[ev.Flow] = &htmlFlow{Attempt: ev.Attempt} // the last attempt is shown
	case runner.StepEnd:
		f := h.flows[ev.Flow]
		if f == nil {
			f = &htmlFlow{}
			h.flows[ev.Flow] = f
		}
		st := htmlStep{N: ev.Index + 1, Text: ev.Text, Status: ev.Status, Err: ev.Err, Warnings: ev.Warnings, Took: ev.Took, Tree: ev.Tree, Focus: ev.Focus}
		switch {
		case len(ev.Screenshot) > 0:
			st.Shot = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(ev.Screenshot))
		case len(ev.Thumb) > 0:
			st.Shot = template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(ev.Thumb))
		}
		f.Steps = append(f.Steps, st)
	}
}

type htmlData struct {
	Summary runner.Summary
	Started string
	Flows   []htmlFlowView
}

type htmlFlowView struct {
	ID     string
	Result *runner.Result
	Flow   *htmlFlow
	NotRun []runner.StepResult
}

// Write writes dir/index.html.
func (h *HTML) Write(dir string, s runner.Summary, started time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	p := filepath.Join(dir, "index.html")
	f, err := os.Create(p)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	if err := h.write(f, s, started); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return p, f.Close()
}

func (h *HTML) write(w io.Writer, s runner.Summary, started time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := htmlData{Summary: s, Started: started.Format("2006-01-02 15:04:05")}
	for i, r := range s.Results {
		v := htmlFlowView{ID: fmt.Sprintf("flow-%d", i+1), Result: r, Flow: h.flows[r.Flow]}
		if v.Flow == nil {
			v.Flow = &htmlFlow{}
		}
		for _, st := range r.Steps {
			if st.Status == runner.NotRun {
				v.NotRun = append(v.NotRun, st)
			}
		}
		d.Flows = append(d.Flows, v)
	}
	return htmlTmpl.Execute(w, d)
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs": func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) },
	"ms":   func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) },
	"indent": func(n int) template.CSS {
		return template.CSS(fmt.Sprintf("padding-left:%.1frem", float64(n)*1.2))
	},
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kapu report: {{.Summary.Passed}} passed, {{.Summary.Failed}} failed</title>
<style>
body { font: 1rem/1.5 system-ui, "DejaVu Sans", sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
header, main { max-width: 70rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.2rem; margin: 0; }
a { color: #0b3d91; }
:focus-visible { outline: 3px solid #ffbf47; box-shadow: 0 0 0 5px #1a1a1a; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #ccc; vertical-align: top; }
.passed { color: #1b5e20; } .failed { color: #a4000f; } .skipped, .flaky, .not-run { color: #6b4e00; }
.status { font-weight: 700; text-transform: uppercase; white-space: nowrap; }
section.flow { border: 1px solid #bbb; border-radius: .3rem; margin: 1.5rem 0; padding: 1rem; }
details { margin: .3rem 0; }
summary { cursor: pointer; padding: .3rem 0; }
pre, .tree { font: .85rem/1.4 "DejaVu Sans Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; background: #f2f4f7; padding: .5rem; margin: .3rem 0; }
.err { color: #a4000f; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
img { max-width: 100%; height: auto; border: 1px solid #767676; }
.cols { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; }
@media (max-width: 45rem) { .cols { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
<h1>kapu report</h1>
<p>{{.Started}} · {{len .Summary.Results}} flows · <span class="passed">{{.Summary.Passed}} passed</span> ·
<span class="failed">{{.Summary.Failed}} failed</span> · <span class="flaky">{{.Summary.Flaky}} flaky</span> ·
<span class="skipped">{{.Summary.Skipped}} skipped</span> · {{secs .Summary.Took}}</p>
<p>Secrets (passwords, keys, codes, törlőkód) are shown as •••• and blurred in screenshots.</p>
</header>
<main>
<table>
<caption class="visually-hidden">Flows</caption>
<thead><tr><th scope="col">Status</th><th scope="col">Flow</th><th scope="col">Time</th></tr></thead>
<tbody>
{{range .Flows}}<tr><td class="status {{.Result.Status}}">{{.Result.Status}}</td><td><a href="#{{.ID}}" lang="hu">{{.Result.Flow.Name}}</a></td><td>{{secs .Result.Took}}</td></tr>
{{end}}</tbody>
</table>
{{range .Flows}}
<section class="flow" id="{{.ID}}" aria-labelledby="{{.ID}}-h">
<h2 id="{{.ID}}-h"><span class="status {{.Result.Status}}">{{.Result.Status}}</span> <span lang="hu">{{.Result.Flow.Name}}</span></h2>
<p>{{.Result.Flow.File}} · {{secs .Result.Took}}{{if gt .Result.Attempts 1}} · attempt {{.Result.Attempts}}{{end}}</p>
{{with .Result.Reason}}<p>Skipped: {{.}}</p>{{end}}
{{with .Result.Err}}<pre class="err">{{.}}</pre>{{end}}
{{range .Result.Earlier}}<p>Failed on an earlier attempt:</p><pre class="err">{{.}}</pre>{{end}}
{{range .Flow.Steps}}
<details{{if eq .Status "failed"}} open{{end}}>
<summary><span class="status {{.Status}}">{{.Status}}</span> {{.N}}. <span lang="hu">{{.Text}}</span> ({{ms .Took}})</summary>
{{with .Err}}<pre class="err">{{.}}</pre>{{end}}
{{range .Warnings}}<p class="flaky">Warning: {{.}}</p>{{end}}
<div class="cols">
<div>{{if .Shot}}<img src="{{.Shot}}" alt="The page after step {{.N}}" loading="lazy">{{end}}</div>
<div>{{with .Focus}}<p>Focus: <span lang="hu">{{.}}</span></p>{{end}}
{{if .Tree}}<p>Accessibility tree:</p><div class="tree" lang="hu">{{range .Tree}}<div style="{{indent .Depth}}">{{.Role}}{{with .Name}} “{{.}}”{{end}}{{with .Value}} = “{{.}}”{{end}}{{range .States}} [{{.}}]{{end}}{{if .Focused}} ← focus{{end}}</div>{{end}}</div>{{end}}</div>
</div>
</details>
{{end}}
{{range .NotRun}}<p class="not-run">Not run: <span lang="hu">{{.Text}}</span></p>{{end}}
</section>
{{end}}
</main>
</body>
</html>
`))
