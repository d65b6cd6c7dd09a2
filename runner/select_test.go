package runner_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/runner"
)

// TestShardsPartition: the shards of a split run every flow exactly once.
func TestShardsPartition(t *testing.T) {
	t.Parallel()
	all, err := flow.Load("../flows")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 7, len(all) + 3} {
		seen := map[*flow.Flow]int{}
		for i := 1; i <= n; i++ {
			part, err := runner.Select(slices.Clone(all), runner.Filter{Shard: fmt.Sprintf("%d/%d", i, n)})
			if err != nil && !strings.Contains(err.Error(), "no flows left") {
				t.Fatal(err)
			}
			for _, f := range part {
				seen[f]++
			}
		}
		for _, f := range all {
			if seen[f] != 1 {
				t.Errorf("%d shards: %q ran %d times", n, f.Name, seen[f])
			}
		}
	}
	for _, bad := range []string{"0/3", "4/3", "1/0", "x", "1/2/3", "-1/2"} {
		if _, err := runner.Select(all, runner.Filter{Shard: bad}); err == nil {
			t.Errorf("--shard %s accepted", bad)
		}
	}
	got, _ := runner.Select(all, runner.Filter{Grep: "időablak", Skip: "két lépéssel"})
	if len(got) == 0 || slices.ContainsFunc(got, func(f *flow.Flow) bool {
		return !strings.Contains(f.Name, "időablak") || strings.Contains(f.Name, "két lépéssel")
	}) {
		t.Errorf("--grep/--skip kept %d flows", len(got))
	}
}
