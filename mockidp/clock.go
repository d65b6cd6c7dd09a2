package mockidp

import (
	"sync"
	"time"
)

// Clock is the mock IdP's one source of time (SPEC §2): every TOTP check,
// lockout and expiry reads it, and the test API moves it. It runs with the
// wall clock unless frozen; a frozen clock moves only when told.
type Clock struct {
	mu     sync.Mutex
	frozen bool
	at     time.Time     // the time while frozen
	offset time.Duration // added to the wall clock while running
	wall   func() time.Time
}

// NewClock returns a running clock that reads the wall clock.
func NewClock() *Clock { return &Clock{wall: time.Now} }

// FrozenClock returns a clock frozen at t, for tests.
func FrozenClock(t time.Time) *Clock {
	return &Clock{wall: time.Now, frozen: true, at: t}
}

// Now returns the IdP's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

func (c *Clock) now() time.Time {
	if c.frozen {
		return c.at
	}
	return c.wall().Add(c.offset)
}

// Frozen tells whether the clock moves only when told.
func (c *Clock) Frozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen
}

// ClockChange is one call of POST /__kapu/clock. SPEC 7: the fields apply
// in one step, in this order: freeze, set, advance, unfreeze.
type ClockChange struct {
	Freeze  *bool
	Set     *time.Time
	Advance time.Duration
}

// Apply makes the change atomically and returns the new time and state.
func (c *Clock) Apply(ch ClockChange) (now time.Time, frozen bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.Freeze != nil && *ch.Freeze && !c.frozen {
		c.at, c.frozen = c.now(), true
	}
	if ch.Set != nil {
		c.set(*ch.Set)
	}
	if ch.Advance != 0 {
		c.set(c.now().Add(ch.Advance))
	}
	if ch.Freeze != nil && !*ch.Freeze && c.frozen {
		c.offset, c.frozen = c.at.Sub(c.wall()), false
	}
	return c.now(), c.frozen
}

func (c *Clock) set(t time.Time) {
	if c.frozen {
		c.at = t
		return
	}
	c.offset = t.Sub(c.wall())
}

// copy is a clock of its own at c's time, frozen or running as c is.
func (c *Clock) copy() *Clock {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Clock{wall: c.wall, frozen: c.frozen, at: c.at, offset: c.offset}
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.Apply(ClockChange{Advance: d}) }
