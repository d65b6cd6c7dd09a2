package runner

import (
	"testing"

	"github.com/kapu-dev/kapu/flow"
)

// Every assertion of the flow table has a check here, and no check is
// for an assertion the table does not have.
func TestEveryAssertionHasACheck(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, a := range flow.Assertions() {
		names[a[0]] = true
		if checks[a[0]] == nil {
			t.Errorf("assertion %q has no check in runner/expect.go", a[0])
		}
	}
	for name := range checks {
		if !names[name] {
			t.Errorf("check %q is for no assertion of flow/expect.go", name)
		}
	}
}
