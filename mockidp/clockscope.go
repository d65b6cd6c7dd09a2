package mockidp

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/kapu-dev/kapu/mockidp/account"
)

// Clock scopes let flows that move time share one mock (test API only):
// POST /__kapu/clock {"scope": NAME, …} moves a clock of that flow's own,
// made as a copy of the IdP clock at its first use, and every request
// whose browser carries the name in the kapu_clock cookie reads it: TOTP
// checks, lockouts, DÁP expiry, login, code and assertion times. GET
// /__kapu/clock announces the capability ("scopes": true); a runner that
// sees it need not run such flows one at a time.
const (
	ScopeCookie = "kapu_clock"
	maxScopes   = 1024
)

type clockScopes struct {
	mu sync.Mutex
	m  map[string]*scope
}

type scope struct {
	clock *Clock
	used  time.Time // wall time of the last use, to drop the least recent
}

// validScope: 1 to 64 of A-Z a-z 0-9 - _, so that a name is a cookie value.
func validScope(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// get returns the named scope's clock, made from base when new. With
// maxScopes scopes the least recently used goes: the state is bounded.
func (cs *clockScopes) get(name string, base *Clock) *Clock {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*scope{}
	}
	if s, ok := cs.m[name]; ok {
		s.used = time.Now()
		return s.clock
	}
	if len(cs.m) >= maxScopes {
		oldest := ""
		for k, s := range cs.m {
			if oldest == "" || s.used.Before(cs.m[oldest].used) {
				oldest = k
			}
		}
		delete(cs.m, oldest)
	}
	c := base.copy()
	cs.m[name] = &scope{clock: c, used: time.Now()}
	return c
}

// lookup returns an existing scope's clock, or nil: a cookie alone never
// makes one.
func (cs *clockScopes) lookup(name string) *Clock {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if s, ok := cs.m[name]; ok {
		s.used = time.Now()
		return s.clock
	}
	return nil
}

type scopeKey struct{}

// withScope gives the request its flow's clock when the test API is on
// and its kapu_clock cookie names a scope.
func (srv *Server) withScope(r *http.Request) *http.Request {
	if !srv.opts.TestAPI {
		return r
	}
	ck, err := r.Cookie(ScopeCookie)
	if err != nil || !validScope(ck.Value) {
		return r
	}
	c := srv.scopes.lookup(ck.Value)
	if c == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), scopeKey{}, c))
}

// clockOf is the clock a request is served on: its flow's scope, else
// the IdP clock.
func (srv *Server) clockOf(r *http.Request) *Clock {
	if c, ok := r.Context().Value(scopeKey{}).(*Clock); ok {
		return c
	}
	return srv.clock
}

// accounts are the users as seen on the request's clock.
func (srv *Server) accounts(r *http.Request) *account.Store {
	return srv.store.At(srv.clockOf(r))
}
