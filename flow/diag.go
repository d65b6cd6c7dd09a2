// Package flow turns flow files (YAML) into plans of typed steps that the
// runner executes, and reports every problem of a file at once as
// file:line:col diagnostics with suggestions. It knows nothing of browsers,
// clocks or targets: nothing downstream reads raw YAML.
package flow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kapu-dev/kapu/internal/spell"
)

// Pos is a place in a flow file.
type Pos struct {
	File      string
	Line, Col int // from 1; Col counts characters
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Diagnostic is one problem in a flow file.
type Diagnostic struct {
	Pos Pos
	Msg string
}

func (d Diagnostic) Error() string { return d.Pos.String() + ": " + d.Msg }

// Diagnostics are all the problems found, sorted by position.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

func (ds Diagnostics) sort() {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
}

// unique drops repeats: a flow's after steps are checked once per case.
func (ds Diagnostics) unique() Diagnostics {
	return slices.CompactFunc(ds, func(a, b Diagnostic) bool { return a == b })
}

// closest returns the candidate nearest to s, or "" when none is near
// enough to be a likely misspelling.
func closest(s string, candidates []string) string { return spell.Closest(s, candidates) }

// didYouMean is the suggestion suffix of a message, or "".
func didYouMean(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" && c != s {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}
