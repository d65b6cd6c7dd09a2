package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// AxeTags are the rules run: WCAG 2.1 A and AA, exactly.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// AxeIssue is one rule that failed (a violation) or that axe could not
// decide (incomplete: for a reviewer to look at).
type AxeIssue struct {
	Rule    string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

func (i AxeIssue) String() string {
	return fmt.Sprintf("%s (%s): %s — %s", i.Rule, i.Impact, i.Help, strings.Join(i.Targets, ", "))
}

// AxeResult is what axe-core found on a page, plus kapu's own check of
// a single h1 (axe counts that as best practice only).
type AxeResult struct {
	Violations []AxeIssue `json:"violations"`
	Incomplete []AxeIssue `json:"incomplete"`
	H1         int        `json:"h1"`
}

// Axe runs axe-core (its source, axe.min.js) on the page with the WCAG
// 2.1 A/AA tags; rules in ignore are turned off.
func (t *Tab) Axe(ctx context.Context, source string, ignore []string) (AxeResult, error) {
	var res AxeResult
	err := t.run(ctx, func(ctx context.Context) error {
		has, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
		if err != nil {
			return err
		}
		if !has {
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](source+"\n;void 0")); err != nil {
				return fmt.Errorf("load axe-core into the page: %w", err)
			}
		}
		tags, _ := json.Marshal(AxeTags)
		rules := map[string]map[string]bool{}
		for _, r := range ignore {
			rules[r] = map[string]bool{"enabled": false}
		}
		rj, _ := json.Marshal(rules)
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](fmt.Sprintf(`(async () => {
			const r = await axe.run(document, {runOnly: {type: "tag", values: %s}, rules: %s, resultTypes: ["violations", "incomplete"]});
			const pick = list => list.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
				targets: v.nodes.map(n => n.target.join(" ")).slice(0, 8)}));
			const h1 = Array.from(document.querySelectorAll("h1")).filter(e => e.checkVisibility ? e.checkVisibility() : true).length;
			return {violations: pick(r.violations), incomplete: pick(r.incomplete), h1};
		})()`, tags, rj), chromedp.EvalAwaitPromise))
		if err != nil {
			return fmt.Errorf("run axe-core: %w", err)
		}
		return json.Unmarshal(raw, &res)
	})
	return res, err
}
