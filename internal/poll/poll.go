// Package poll waits for a condition that no event announces: it asks
// again and again, first quickly, then less often. It knows nothing of
// what it waits for.
package poll

import (
	"context"
	"time"
)

// Backoff is how long to wait between tries: First, doubled after each
// try, never more than Max.
type Backoff struct {
	First, Max time.Duration
}

// Common backoffs: a page the browser is busy with is asked about often.
var (
	Page = Backoff{First: 10 * time.Millisecond, Max: 150 * time.Millisecond}
	Load = Backoff{First: 2 * time.Millisecond, Max: 50 * time.Millisecond}
)

// Until calls try until it returns true, waiting b between calls. It
// returns nil when try succeeded, or ctx's error once ctx has ended (try
// is then not called again).
func Until(ctx context.Context, b Backoff, try func() bool) error {
	delay := b.First
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		if try() {
			return nil
		}
		t.Reset(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(delay*2, b.Max)
	}
}
