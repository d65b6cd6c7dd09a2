package runner

import (
	"slices"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/flow"
)

// With two workers or more the longest flow starts first; with one, the
// suite's order stays.
func TestStartOrder(t *testing.T) {
	short := &flow.Flow{Name: "short", Steps: []flow.Step{flow.Click{}}}
	waits := &flow.Flow{Name: "waits", Steps: []flow.Step{flow.Click{}, flow.Wait{D: 2 * time.Second}}}
	axe := &flow.Flow{Name: "axe", Steps: []flow.Step{flow.Axe{}, flow.Axe{}, flow.Axe{}, flow.Click{}}}
	flows := []*flow.Flow{short, axe, waits}
	if got := startOrder(flows, 1); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("one worker: %v, want the suite's order", got)
	}
	if got := startOrder(flows, 2); !slices.Equal(got, []int{2, 1, 0}) {
		t.Errorf("two workers: %v, want the longest first (waits, axe, short)", got)
	}
}
