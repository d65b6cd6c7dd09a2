package runner

import (
	"cmp"
	"slices"
	"time"

	"github.com/kapu-dev/kapu/flow"
)

// startOrder is the order the flows start in. With more than one worker,
// the longest start first: a long flow started last runs alone at the
// end while the other workers idle (the a11y flow takes a quarter of the
// suite's wall time). One worker keeps the suite's order, as a reviewer
// replaying it expects; results are in the suite's order either way.
func startOrder(flows []*flow.Flow, workers int) []int {
	idx := make([]int, len(flows))
	for i := range idx {
		idx[i] = i
	}
	if workers < 2 {
		return idx
	}
	est := make([]time.Duration, len(flows))
	for i, f := range flows {
		est[i] = estimate(f)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(est[b], est[a]) })
	return idx
}

// estimate is how long a flow takes on the bundled mock, from its steps:
// what each kind costs on average (measured over the suite, one worker),
// waits as written. It only orders flows; it is never a limit.
func estimate(f *flow.Flow) time.Duration {
	d := 200 * time.Millisecond // its browser context and mock
	for _, s := range f.Steps {
		switch s := s.(type) {
		case flow.Wait:
			d += s.D
		case flow.Axe:
			d += 160 * time.Millisecond
		case flow.Open, flow.Click, flow.Press, flow.Type, flow.Device, flow.Check, flow.Scan:
			d += 60 * time.Millisecond
		case flow.Fill, flow.Expect, flow.TabTo, flow.Read:
			d += 20 * time.Millisecond
		}
	}
	return d
}
