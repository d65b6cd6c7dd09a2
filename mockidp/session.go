package mockidp

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"sync"
	"time"
)

const cookieName = "kapu_session"

// method is how a session logged in to the success page.
type method string

const (
	methodPlus method = "plus" // Ügyfélkapu+: password and code
	methodDAP  method = "dap"  // DÁP: approved on the phone
)

// session is one browser's state. The token names it in an HttpOnly,
// SameSite cookie; csrf is the token every form of the session carries.
// Both change at every change of authentication (rotate, end).
type session struct {
	token string
	csrf  string

	user     string // logged in with password only (Ügyfélkapu)
	plusUser string // password stage of Ügyfélkapu+ passed, code pending
	attempt  uint64 // which password stage plusUser came from
	plusDone bool   // logged in as plusUser, by method
	method   method
	notice   string      // shown once on the next page
	dapToken string      // the DÁP login this browser waits for
	enrolled bool        // an enrollment just finished: its success page shows once
	app      *appRequest // an app's login request that this login answers
	answer   login       // the finished login, for the app's answer

	seen time.Time // wall time: sessions outlive moves of the IdP clock
}

// loggedIn tells whether the session is past any login.
func (s *session) loggedIn() bool { return s.user != "" || s.plusDone }

type sessions struct {
	mu      sync.Mutex
	m       map[string]*session
	max     int
	secure  bool   // cookies only over HTTPS (a https public URL)
	attempt uint64 // the last password stage's number
}

// Bounds: at most max sessions (the oldest anonymous go first when full),
// and none idle for longer than sessionIdle once the store is full.
const (
	defaultMaxSessions = 200_000
	sessionIdle        = 2 * time.Hour
)

func newSessions(max int, secure bool) *sessions {
	if max <= 0 {
		max = defaultMaxSessions
	}
	return &sessions{m: map[string]*session{}, max: max, secure: secure}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux (Go ≥1.24)
	}
	return hex.EncodeToString(b)
}

// get returns the session of r, or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || len(c.Value) != 64 {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s != nil {
		s.seen = time.Now()
	}
	return s
}

// ensure returns the session of r, starting one (and setting its cookie)
// if there is none.
func (ss *sessions) ensure(w http.ResponseWriter, r *http.Request) *session {
	if s := ss.get(r); s != nil {
		return s
	}
	s := &session{}
	ss.mu.Lock()
	ss.store(s)
	ss.mu.Unlock()
	ss.setCookie(w, r, s.token)
	return s
}

// store gives s a fresh token and CSRF token and keeps it; ss.mu is held.
func (ss *sessions) store(s *session) {
	if len(ss.m) >= ss.max {
		ss.sweep()
	}
	s.token, s.csrf, s.seen = randomHex(32), randomHex(32), time.Now()
	ss.m[s.token] = s
}

func (ss *sessions) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: ss.secure || r.TLS != nil,
	})
}

// rotate runs change on s under the lock and, if it reports a change of
// authentication, gives s a new cookie and CSRF token: the old cookie then
// names no session, so one captured before a login never gives access
// after it (session fixation). It returns what change returned.
func (ss *sessions) rotate(w http.ResponseWriter, r *http.Request, s *session, change func(*session) bool) bool {
	ss.mu.Lock()
	if ss.m[s.token] != s || !change(s) {
		ss.mu.Unlock()
		return false
	}
	delete(ss.m, s.token)
	ss.store(s)
	token := s.token
	ss.mu.Unlock()
	ss.setCookie(w, r, token)
	return true
}

// end logs s out on the server and gives the browser a new, empty session:
// the old cookie no longer reaches any page of s.
func (ss *sessions) end(w http.ResponseWriter, r *http.Request, s *session) {
	ns := &session{}
	ss.mu.Lock()
	delete(ss.m, s.token)
	ss.store(ns)
	ss.mu.Unlock()
	ss.setCookie(w, r, ns.token)
}

// endPlus logs out every session logged in as user with Ügyfélkapu+ or
// waiting for its code: the törlőkód ended the user's Ügyfélkapu+.
func (ss *sessions) endPlus(user string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.m {
		if s.plusUser == user && (!s.plusDone || s.method == methodPlus) {
			s.plusUser, s.plusDone, s.method = "", false, ""
		}
	}
}

// nextAttempt numbers a password stage, so that a code stage can tell
// that the stage it read is still the session's own.
func (ss *sessions) nextAttempt() uint64 {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.attempt++
	return ss.attempt
}

// sweep makes room: first the idle, then the oldest anonymous sessions,
// and a logged-in one only when no anonymous one is left. ss.mu is held.
func (ss *sessions) sweep() {
	cut := time.Now().Add(-sessionIdle)
	for k, s := range ss.m {
		if s.seen.Before(cut) {
			delete(ss.m, k)
		}
	}
	target := ss.max - max(1, ss.max/10)
	if len(ss.m) <= target {
		return
	}
	all := make([]*session, 0, len(ss.m))
	for _, s := range ss.m {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *session) int {
		if a.loggedIn() != b.loggedIn() { // anonymous first
			if a.loggedIn() {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.seen.UnixNano(), b.seen.UnixNano())
	})
	for _, s := range all[:len(ss.m)-target] {
		delete(ss.m, s.token)
	}
}

func (ss *sessions) reset() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.m = map[string]*session{}
}

func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

// update runs f on s under the lock: handlers on two tabs of one
// browser share a session.
func (ss *sessions) update(s *session, f func(*session)) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f(s)
}

// view returns a copy of s to read without the lock.
func (ss *sessions) view(s *session) session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return *s
}

// csrfOK tells whether token is s's CSRF token, in constant time.
func (ss *sessions) csrfOK(s *session, token string) bool {
	ss.mu.Lock()
	want := s.csrf
	ss.mu.Unlock()
	return subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}
