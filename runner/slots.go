package runner

import (
	"context"
	"sync"
	"time"
)

// slots are the workers: how many flows drive a browser at once. A flow
// that waits for real time (a 30-second boundary on the wall clock) gives
// its slot back while it waits, so waiting flows overlap and a staging
// run costs about its longest chain of waits, not their sum. A flow
// coming back from a wait goes before flows not started yet.
type slots struct {
	mu       sync.Mutex
	cond     *sync.Cond
	free     int
	resuming int // flows back from a wait, waiting for a slot
}

func newSlots(n int) *slots {
	s := &slots{free: n}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// acquire takes a slot; resume says the flow is back from a wait.
func (s *slots) acquire(ctx context.Context, resume bool) error {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if resume {
		s.resuming++
		defer func() { s.resuming-- }()
	}
	for s.free == 0 || !resume && s.resuming > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.cond.Wait()
	}
	s.free--
	return nil
}

func (s *slots) release() {
	s.mu.Lock()
	s.free++
	s.cond.Broadcast()
	s.mu.Unlock()
}

// minIdle is the shortest real wait worth giving the slot up for, and
// idleLead how long before the wait ends the flow takes a slot again: a
// wait for a 30-second boundary must end on time, not when a slot frees.
const (
	minIdle  = time.Second
	idleLead = 10 * time.Second
)

// idleClock is a real clock whose waits give the flow's slot back.
type idleClock struct {
	Clock
	slots *slots
}

func (c idleClock) Advance(ctx context.Context, d time.Duration) error {
	start, err := c.Clock.Now(ctx)
	if d < minIdle+idleLead || err != nil {
		return c.Clock.Advance(ctx, d)
	}
	c.slots.release()
	err = c.Clock.Advance(ctx, d-idleLead)
	if aerr := c.slots.acquire(context.WithoutCancel(ctx), true); err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	now, err := c.Clock.Now(ctx)
	if err != nil {
		return err
	}
	return c.Clock.Advance(ctx, start.Add(d).Sub(now))
}
