// Package account keeps the mock IdP's users and decides every rule of
// SPEC §2 and §7 that does not depend on HTTP: passwords, enrollment, the
// TOTP check with its skew, replay protection and lockout, and the
// törlőkód. It knows nothing of pages, cookies or forms.
package account

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Errors that the screens branch on. None carries a secret.
var (
	ErrBadLogin       = errors.New("wrong username or password")
	ErrBadPassword    = errors.New("wrong password")
	ErrBadCode        = errors.New("wrong or expired code")
	ErrBadRecovery    = errors.New("wrong recovery code")
	ErrLocked         = errors.New("too many failed attempts: locked")
	ErrNotEnrolled    = errors.New("user has no active Ügyfélkapu+")
	ErrEnrolled       = errors.New("user already has Ügyfélkapu+")
	ErrNotConfirmed   = errors.New("recovery code not confirmed")
	ErrNoEnrollment   = errors.New("no enrollment pending")
	ErrTaken          = errors.New("username is taken")
	ErrNoUser         = errors.New("no such user")
	ErrInvalidUser    = errors.New("invalid user")
	errCodeNotConfirm = errors.New("enrollment code not yet accepted")
)

// SPEC §1.4 and §7: 5 wrong attempts in a row lock a user for 15 minutes.
const (
	MaxFailures = 5
	LockFor     = 15 * time.Minute
)

type clock interface{ Now() time.Time }

// Policy holds the rules of SPEC §2 and §7 as values. DefaultPolicy gives
// the SPEC's; a deployment may tune Skew, and faults.go maps each fault of
// kapu mockidp --break to a change of one field, so this file names none.
type Policy struct {
	Skew        int           // steps accepted either side of the current one: 0, 1 or 2
	MaxFailures int           // wrong attempts in a row that lock; 0 never locks
	LockFor     time.Duration // how long a lock lasts

	SpendCodes         bool // an accepted code's step is used up
	RefuseEarlierSteps bool // steps before the last used one are used up too
	EnrollCodeSpent    bool // the enrollment code's step counts as used
	RightCodeWhileLock bool // a right code gets in while locked

	RequireSaved         bool // Befejezés needs the "saved" checkbox
	ActiveBeforeFinish   bool // a confirmed enrollment logs in before Befejezés
	KeepPendingSecret    bool // a failed Tovább or a reload shows the same secret
	EnrollChecksPassword bool // the enrollment page checks the password
	PlusNeedsEnrollment  bool // the Ügyfélkapu+ password stage refuses the unenrolled

	WrongRecoveryCounts bool // a wrong törlőkód counts toward the lockout
	RevokeEndsSecret    bool // the törlőkód ends the secret, not only itself
	RecoveryOnce        bool // a törlőkód works once

	// NewSecret, when set, replaces the random secret of a new enrollment;
	// previous is the user's last secret ("" for none). For faults only.
	NewSecret func(previous string) string
}

// DefaultPolicy is the SPEC: skew 1, 5 wrong attempts lock for 15 minutes,
// every code once, the törlőkód once, Ügyfélkapu+ active after Befejezés.
func DefaultPolicy() Policy {
	return Policy{
		Skew: 1, MaxFailures: MaxFailures, LockFor: LockFor,
		SpendCodes: true, RefuseEarlierSteps: true, EnrollCodeSpent: true,
		RequireSaved: true, KeepPendingSecret: true, EnrollChecksPassword: true, PlusNeedsEnrollment: true,
		WrongRecoveryCounts: true, RevokeEndsSecret: true, RecoveryOnce: true,
	}
}

// Store holds every user. It is safe for concurrent use.
type Store struct {
	clock clock
	*state
}

// state is the users, shared by a store and its views (At).
type state struct {
	policy Policy

	mu    sync.Mutex
	users map[string]*user
}

// user is the IdP's record. The secret is kept because the IdP needs it to
// check codes; the törlőkód is kept only as a hash once enrollment is done.
type user struct {
	Info
	password string

	secret   string // active Ügyfélkapu+ secret (base32), "" if none
	lastStep int64  // SPEC §2: the last accepted step of secret

	pending *enrollment

	recoveryHash [32]byte
	hasRecovery  bool

	failures    int
	lockedUntil time.Time

	oldSecret    string    // kept only when Policy.NewSecret is set
	usedRecovery *[32]byte // kept only when !Policy.RecoveryOnce
}

// enrollment is a pending Ügyfélkapu+ enrollment (SPEC §7: kept per user
// until Befejezés, across a failed Tovább, a reload and a new login).
type enrollment struct {
	secret    string
	confirmed bool  // the code was accepted on the enrollment page
	lastStep  int64 // the step of that code: it counts as used (SPEC §7)
	recovery  string
}

// Info is what may be shown about a user.
type Info struct {
	Username string `json:"username"`
	Name     string `json:"name"`
}

// Seed is a user as the seed file and the test API describe it.
type Seed struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Secret   string `json:"secret,omitempty"`   // enrolled when set
	Recovery string `json:"recovery,omitempty"` // the törlőkód of an enrolled user
}

// NewStore returns an empty store reading time from clock and following
// p (DefaultPolicy for the SPEC). A skew outside 0 to 2 is taken as 1.
func NewStore(c clock, p Policy) *Store {
	if p.Skew < 0 || p.Skew > 2 {
		p.Skew = 1
	}
	return &Store{clock: c, state: &state{policy: p, users: map[string]*user{}}}
}

// At is the same users seen on another clock: a flow's own clock on a
// shared mock (the test API's clock scopes). nil: s itself.
func (s *Store) At(c clock) *Store {
	if c == nil {
		return s
	}
	return &Store{clock: c, state: s.state}
}

// Add creates a user. A seed with a secret is already enrolled.
func (s *Store) Add(sd Seed) error {
	u, err := newUser(sd)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[sd.Username]; ok {
		return ErrTaken
	}
	s.users[sd.Username] = u
	return nil
}

// Reset forgets every user, then adds seeds, in one step.
func (s *Store) Reset(seeds []Seed) error {
	users := make(map[string]*user, len(seeds))
	for _, sd := range seeds {
		u, err := newUser(sd)
		if err != nil {
			return fmt.Errorf("seed user %q: %w", sd.Username, err)
		}
		if _, ok := users[sd.Username]; ok {
			return fmt.Errorf("seed user %q: %w", sd.Username, ErrTaken)
		}
		users[sd.Username] = u
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = users
	return nil
}

func newUser(sd Seed) (*user, error) {
	if sd.Username == "" || sd.Password == "" || len(sd.Username) > MaxField || len(sd.Password) > MaxField || len(sd.Name) > MaxField {
		return nil, fmt.Errorf("%w: username and password must be 1 to %d bytes", ErrInvalidUser, MaxField)
	}
	u := &user{Info: Info{Username: sd.Username, Name: sd.Name}, password: sd.Password}
	if u.Name == "" {
		u.Name = sd.Username
	}
	if sd.Secret != "" {
		sec := strings.ToUpper(strings.ReplaceAll(sd.Secret, " ", ""))
		if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(sec); err != nil {
			return nil, fmt.Errorf("%w: secret is not base32", ErrInvalidUser)
		}
		u.secret, u.lastStep = sec, -1
		if sd.Recovery != "" {
			u.recoveryHash, u.hasRecovery = hashRecovery(sd.Recovery), true
		}
	}
	return u, nil
}

// MaxField is the longest username, password or name accepted.
const MaxField = 256

// Info returns what may be shown about username.
func (s *Store) Info(username string) (Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return Info{}, false
	}
	return u.Info, true
}

// Enrolled tells whether username has an active Ügyfélkapu+.
func (s *Store) Enrolled(username string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	return ok && u.secret != ""
}

// CanUsePlus tells whether username may go on to the code stage of the
// Ügyfélkapu+ login: ErrNotEnrolled if not (SPEC §1.4).
func (s *Store) CanUsePlus(username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return ErrNoUser
	}
	if s.activeSecret(u) == "" && s.policy.PlusNeedsEnrollment {
		return ErrNotEnrolled
	}
	return nil
}

// Locked tells whether username is locked out now.
func (s *Store) Locked(username string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	return ok && s.locked(u)
}

// dummy is compared against when the username is unknown, so that a
// wrong username takes as long as a wrong password.
const dummy = "kapu-no-such-user-password-00000"

// CheckPassword is the password stage of both logins (SPEC §1.2, §1.4).
// It answers ErrBadLogin for a wrong username and a wrong password alike.
func (s *Store) CheckPassword(username, password string) (Info, error) {
	s.mu.Lock()
	u, ok := s.users[username]
	want := dummy
	if ok {
		want = u.password
	}
	s.mu.Unlock()
	if !equal(password, want) || !ok {
		return Info{}, ErrBadLogin
	}
	return u.Info, nil
}

// Enroll returns the pending secret of username, making one if there is
// none. It fails with ErrEnrolled for a user who already has Ügyfélkapu+.
func (s *Store) Enroll(username string) (secret string, confirmed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return "", false, ErrNoUser
	}
	if u.secret != "" {
		return "", false, ErrEnrolled
	}
	if u.pending == nil {
		sec, err := s.newSecret(u)
		if err != nil {
			return "", false, err
		}
		u.pending = &enrollment{secret: sec, lastStep: -1}
	} else if !s.policy.KeepPendingSecret && !u.pending.confirmed {
		if sec, err := s.newSecret(u); err == nil {
			u.pending.secret = sec
		}
	}
	return u.pending.secret, u.pending.confirmed, nil
}

// ConfirmEnrollment checks the password and the code of the enrollment
// page (SPEC §1.3 step 2). On success it returns the törlőkód to show;
// a second call after success returns the same one. Wrong attempts here do
// not count toward the lockout (SPEC §7).
func (s *Store) ConfirmEnrollment(username, password, code string) (recovery string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return "", ErrNoUser
	}
	p := u.pending
	if p == nil {
		return "", ErrNoEnrollment
	}
	if p.confirmed {
		return p.recovery, nil
	}
	// SPEC §7: password and code both wrong: only the password is named.
	if !equal(password, u.password) && s.policy.EnrollChecksPassword {
		return "", ErrBadPassword
	}
	step, ok := s.match(p.secret, code, p.lastStep)
	if !ok {
		return "", ErrBadCode
	}
	rc, err := newRecovery()
	if err != nil {
		return "", err
	}
	p.confirmed, p.lastStep, p.recovery = true, step, rc
	if !s.policy.EnrollCodeSpent {
		p.lastStep = -1
	}
	return rc, nil
}

// Recovery returns the törlőkód of a confirmed pending enrollment.
func (s *Store) Recovery(username string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return "", ErrNoUser
	}
	if u.pending == nil {
		return "", ErrNoEnrollment
	}
	if !u.pending.confirmed {
		return "", errCodeNotConfirm
	}
	return u.pending.recovery, nil
}

// Finish ends a confirmed enrollment (SPEC §1.3 step 3): only with the
// checkbox ticked does Ügyfélkapu+ become active.
func (s *Store) Finish(username string, saved bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return ErrNoUser
	}
	p := u.pending
	if p == nil || !p.confirmed {
		return ErrNoEnrollment
	}
	if !saved && s.policy.RequireSaved {
		return ErrNotConfirmed
	}
	u.secret, u.lastStep = p.secret, p.lastStep
	u.recoveryHash, u.hasRecovery = hashRecovery(p.recovery), true
	u.pending = nil
	u.failures = 0
	return nil
}

// activeSecret is the secret that logins check; Policy.ActiveBeforeFinish
// makes a confirmed pending one count too early.
func (s *Store) activeSecret(u *user) string {
	if u.secret == "" && u.pending != nil && u.pending.confirmed && s.policy.ActiveBeforeFinish {
		return u.pending.secret
	}
	return u.secret
}

// CheckCode is the code stage of the Ügyfélkapu+ login (SPEC §1.4, §7).
func (s *Store) CheckCode(username, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return ErrNoUser
	}
	secret := s.activeSecret(u)
	if secret == "" {
		if !s.policy.PlusNeedsEnrollment {
			return s.fail(u, ErrBadCode)
		}
		return ErrNotEnrolled
	}
	// SPEC §7: while locked, refused without being checked or counted.
	if s.locked(u) {
		if _, ok := s.match(secret, code, u.lastStep); !ok || !s.policy.RightCodeWhileLock {
			return ErrLocked
		}
	}
	last := u.lastStep
	if secret != u.secret {
		last = u.pending.lastStep
	}
	step, ok := s.match(secret, code, last)
	if !ok {
		return s.fail(u, ErrBadCode)
	}
	if s.policy.SpendCodes {
		if secret == u.secret {
			u.lastStep = step
		} else {
			u.pending.lastStep = step
		}
	}
	u.failures = 0
	return nil
}

// Revoke ends Ügyfélkapu+ with the törlőkód (SPEC §1.5). A wrong törlőkód
// counts toward the lockout; the törlőkód works once.
func (s *Store) Revoke(username, recovery string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return ErrNoUser
	}
	if u.secret == "" {
		return ErrNotEnrolled
	}
	if s.locked(u) {
		return ErrLocked
	}
	h := hashRecovery(recovery)
	used := !s.policy.RecoveryOnce && u.usedRecovery != nil &&
		subtle.ConstantTimeCompare(h[:], u.usedRecovery[:]) == 1
	if !used && (!u.hasRecovery || subtle.ConstantTimeCompare(h[:], u.recoveryHash[:]) != 1) {
		if !s.policy.WrongRecoveryCounts {
			return ErrBadRecovery
		}
		return s.fail(u, ErrBadRecovery)
	}
	u.failures = 0
	if !s.policy.RevokeEndsSecret {
		u.hasRecovery = false
		return nil
	}
	if !s.policy.RecoveryOnce {
		used := u.recoveryHash
		u.usedRecovery = &used
	}
	if s.policy.NewSecret != nil {
		u.oldSecret = u.secret
	}
	// SPEC §7: the last used step belongs to the secret: it goes with it.
	u.secret, u.lastStep, u.hasRecovery, u.recoveryHash = "", -1, false, [32]byte{}
	return nil
}

// locked tells whether u is locked now. SPEC §7: the lock holds while
// now < time of the 5th + 15m.
func (s *Store) locked(u *user) bool {
	if s.policy.MaxFailures == 0 {
		return false
	}
	return s.clock.Now().Before(u.lockedUntil)
}

// fail counts a wrong attempt. SPEC §7: the 5th itself answers ErrLocked,
// and the start of a lock resets the count.
func (s *Store) fail(u *user, err error) error {
	u.failures++
	if limit := s.policy.MaxFailures; limit > 0 && u.failures >= limit {
		u.failures = 0
		u.lockedUntil = s.clock.Now().Add(s.policy.LockFor)
		return ErrLocked
	}
	return err
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Store) newSecret(u *user) (string, error) {
	if s.policy.NewSecret != nil {
		if sec := s.policy.NewSecret(u.oldSecret); sec != "" {
			return sec, nil
		}
	}
	b := make([]byte, 20) // SPEC §2: 160 bits
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random secret: %w", err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// RecoveryAlphabet has no 0/O, 1/I/L: nothing to misread (SPEC §1.3).
const RecoveryAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// RecoveryLen is the number of characters of a törlőkód.
const RecoveryLen = 16

func newRecovery() (string, error) {
	b := make([]byte, RecoveryLen)
	out := make([]byte, RecoveryLen)
	n := len(RecoveryAlphabet)
	// Rejection sampling: no bias toward the first letters.
	for i := 0; i < RecoveryLen; {
		if _, err := rand.Read(b[:1]); err != nil {
			return "", fmt.Errorf("read random törlőkód: %w", err)
		}
		if int(b[0]) >= 256-256%n {
			continue
		}
		out[i] = RecoveryAlphabet[int(b[0])%n]
		i++
	}
	return string(out), nil
}

// NormalizeRecovery reads a törlőkód without regard to case, spaces or
// dashes (SPEC §7).
func NormalizeRecovery(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\u00a0':
			return -1
		}
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func hashRecovery(s string) [32]byte {
	// 80 random bits: a fast hash is enough, nothing to brute-force.
	return sha256.Sum256([]byte("kapu-torlokod:" + NormalizeRecovery(s)))
}
