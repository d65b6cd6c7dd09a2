package poll_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kapu-dev/kapu/internal/poll"
)

func TestUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		err := poll.Until(context.Background(), poll.Backoff{First: 10 * time.Millisecond, Max: 40 * time.Millisecond}, func() bool {
			at = append(at, time.Since(start))
			return len(at) == 5
		})
		if err != nil {
			t.Fatal(err)
		}
		// Waits of 10, 20, 40, 40 ms: the backoff doubles up to Max.
		want := []time.Duration{0, 10, 30, 70, 110}
		for i, w := range want {
			if at[i] != w*time.Millisecond {
				t.Errorf("try %d at %v, want %v", i+1, at[i], w*time.Millisecond)
			}
		}
	})
}

func TestUntilContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		tries := 0
		err := poll.Until(ctx, poll.Page, func() bool { tries++; return false })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the deadline", err)
		}
		if tries < 5 || tries > 20 {
			t.Errorf("%d tries in 1 s with %v", tries, poll.Page)
		}
	})
}
