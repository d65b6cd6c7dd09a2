package mockidp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

const cookieName = "kapu_session"

// session is one browser's state. The token names it in an HttpOnly,
// SameSite cookie; csrf is the token every form of the session carries.
type session struct {
	csrf string

	user     string // logged in with password only (Ügyfélkapu)
	plusUser string // password stage of Ügyfélkapu+ passed, code pending
	plusDone bool   // Ügyfélkapu+ login finished for plusUser
	notice   string // shown once on the next page
	dapToken string // the DÁP login this browser waits for

	seen time.Time // wall time: sessions outlive moves of the IdP clock
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessions() *sessions { return &sessions{m: map[string]*session{}} }

// maxSessions bounds memory under load; the oldest idle go first.
const (
	maxSessions = 200_000
	sessionIdle = 2 * time.Hour
)

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
	token := randomHex(32)
	s := &session{csrf: randomHex(32), seen: time.Now()}
	ss.mu.Lock()
	if len(ss.m) >= maxSessions {
		ss.sweep()
	}
	ss.m[token] = s
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	return s
}

func (ss *sessions) sweep() {
	cut := time.Now().Add(-sessionIdle)
	for k, s := range ss.m {
		if s.seen.Before(cut) {
			delete(ss.m, k)
		}
	}
	for k := range ss.m { // still full: drop any, map order is random
		if len(ss.m) < maxSessions*9/10 {
			break
		}
		delete(ss.m, k)
	}
}

func (ss *sessions) reset() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.m = map[string]*session{}
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

func (s *session) csrfOK(token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}
