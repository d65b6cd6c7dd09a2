package runner

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kapu-dev/kapu/flow"
)

// Filter chooses the flows of a run: names matching Grep and not Skip
// (regular expressions; "" for all), then shard I of N ("i/n"; "" for all).
type Filter struct {
	Grep, Skip, Shard string
}

// Select keeps the flows that f leaves: first by name, then this shard's
// share of them, sorted by file and name, every n-th from i, so that all n
// shards together run each flow once. Nothing left is an error.
func Select(flows []*flow.Flow, f Filter) ([]*flow.Flow, error) {
	var keep, drop *regexp.Regexp
	var err error
	if f.Grep != "" {
		if keep, err = regexp.Compile(f.Grep); err != nil {
			return nil, fmt.Errorf("--grep: %w", err)
		}
	}
	if f.Skip != "" {
		if drop, err = regexp.Compile(f.Skip); err != nil {
			return nil, fmt.Errorf("--skip: %w", err)
		}
	}
	var out []*flow.Flow
	for _, fl := range flows {
		if (keep == nil || keep.MatchString(fl.Name)) && (drop == nil || !drop.MatchString(fl.Name)) {
			out = append(out, fl)
		}
	}
	if f.Shard != "" {
		if out, err = shard(out, f.Shard); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no flows left to run after --grep, --skip and --shard")
	}
	return out, nil
}

func shard(flows []*flow.Flow, spec string) ([]*flow.Flow, error) {
	var i, n int
	if _, err := fmt.Sscanf(spec, "%d/%d", &i, &n); err != nil || n < 1 || i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != spec {
		return nil, fmt.Errorf("--shard %q: want i/n with 1 ≤ i ≤ n, such as 2/3", spec)
	}
	flows = slices.Clone(flows)
	slices.SortStableFunc(flows, func(a, b *flow.Flow) int {
		return cmp.Or(strings.Compare(a.File, b.File), strings.Compare(a.Name, b.Name))
	})
	var mine []*flow.Flow
	for k, fl := range flows {
		if k%n == i-1 {
			mine = append(mine, fl)
		}
	}
	return mine, nil
}
