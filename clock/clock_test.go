package clock_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kapu-dev/kapu/clock"
)

func TestWallAdvanceWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c clock.Wall
		start, _ := c.Now(context.Background())
		if err := c.Advance(context.Background(), 29*time.Second); err != nil {
			t.Fatal(err)
		}
		now, _ := c.Now(context.Background())
		if got := now.Sub(start); got != 29*time.Second {
			t.Errorf("advanced %v, want 29s", got)
		}
	})
}

func TestWallAdvanceStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := clock.Wall{}.Advance(ctx, time.Minute)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Errorf("got %v after %v, want DeadlineExceeded after 5s", err, time.Since(start))
		}
	})
}
