// Package clock is time for targets without the test-control API: the
// real wall clock, where moving forward means waiting.
package clock

import (
	"context"
	"time"
)

// Wall is the real clock. Advance sleeps: a staging run waits for real
// 30-second boundaries.
type Wall struct{}

// Now is the time now.
func (Wall) Now(context.Context) (time.Time, error) { return time.Now(), nil }

// Advance waits d, or until ctx ends.
func (Wall) Advance(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Real tells the runner that moving this clock takes real time.
func (Wall) Real() bool { return true }
