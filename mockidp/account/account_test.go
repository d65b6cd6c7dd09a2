package account_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// t0 is 15 s into a step.
var t0 = time.Date(2030, 1, 2, 3, 4, 15, 0, time.UTC)

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolled makes a user, enrolls them at the clock's time and moves the
// clock one step on, so the enrollment code's step is behind (SPEC §7).
func enrolled(t *testing.T, s *account.Store, c *mockidp.Clock, name string) (secret, recovery string) {
	t.Helper()
	if err := s.Add(account.Seed{Username: name, Password: "pw-" + name, Name: "Teszt " + name}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := s.Enroll(name)
	if err != nil {
		t.Fatal(err)
	}
	recovery, err = s.ConfirmEnrollment(name, "pw-"+name, codeAt(t, secret, c.Now()))
	if err != nil {
		t.Fatalf("confirm enrollment: %v", err)
	}
	if err := s.Finish(name, true); err != nil {
		t.Fatal(err)
	}
	c.Advance(30 * time.Second)
	return secret, recovery
}

func newStore(p account.Policy) (*account.Store, *mockidp.Clock) {
	c := mockidp.FrozenClock(t0)
	return account.NewStore(c, p), c
}

func TestCheckCodeWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		skew  int
		at    time.Duration // IdP time after enrollment, from 15 s into a step
		phone time.Duration // phone time minus IdP time
		want  error
	}{
		{"same step", 1, 0, 0, nil},
		{"one step behind", 1, 0, -30 * time.Second, nil},
		{"one step ahead", 1, 0, 30 * time.Second, nil},
		{"two steps behind", 1, 0, -60 * time.Second, account.ErrBadCode},
		{"two steps ahead", 1, 0, 60 * time.Second, account.ErrBadCode},
		// 1 s either side of a boundary: 14 s after t0+30 s is 29 s into a step.
		{"1 s before boundary, phone 2 s ahead (next step)", 1, 14 * time.Second, 2 * time.Second, nil},
		{"1 s after boundary, phone 2 s behind (previous step)", 1, 16 * time.Second, -2 * time.Second, nil},
		{"1 s after boundary, phone 32 s behind (two steps)", 1, 16 * time.Second, -32 * time.Second, account.ErrBadCode},
		{"1 s before boundary, phone 32 s ahead (two steps)", 1, 14 * time.Second, 32 * time.Second, account.ErrBadCode},
		{"skew 0 refuses one step behind", 0, 0, -30 * time.Second, account.ErrBadCode},
		{"skew 0 accepts same step", 0, 0, 0, nil},
		{"skew 2 accepts two steps ahead", 2, 0, 60 * time.Second, nil},
		{"skew 2 refuses three steps behind", 2, 0, -90 * time.Second, account.ErrBadCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := newStore(skew(tt.skew))
			sec, _ := enrolled(t, s, c, "u")
			// After enrolled() the clock is t0+30s; move on one more step so
			// "one step behind" is not the enrollment step.
			c.Advance(30*time.Second + tt.at)
			now := c.Now()
			err := s.CheckCode("u", codeAt(t, sec, now.Add(tt.phone)))
			if !errors.Is(err, tt.want) {
				t.Errorf("at %v phone %v: got %v, want %v", now.Format("15:04:05"), tt.phone, err, tt.want)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	s, c := newStore(account.DefaultPolicy())
	sec, _ := enrolled(t, s, c, "u")
	now := c.Now()
	code := codeAt(t, sec, now)
	if err := s.CheckCode("u", code); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := s.CheckCode("u", code); !errors.Is(err, account.ErrBadCode) {
		t.Errorf("same code again: got %v, want ErrBadCode", err)
	}
	if err := s.CheckCode("u", codeAt(t, sec, now.Add(-30*time.Second))); !errors.Is(err, account.ErrBadCode) {
		t.Errorf("earlier step after success: got %v, want ErrBadCode", err)
	}
	if err := s.CheckCode("u", codeAt(t, sec, now.Add(30*time.Second))); err != nil {
		t.Errorf("next step after success: got %v, want nil", err)
	}
}

func TestEnrollmentCodeCountsAsUsed(t *testing.T) {
	t.Parallel()
	s, c := newStore(account.DefaultPolicy())
	s.Add(account.Seed{Username: "u", Password: "p"})
	sec, _, _ := s.Enroll("u")
	code := codeAt(t, sec, c.Now())
	if _, err := s.ConfirmEnrollment("u", "p", code); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckCode("u", code); !errors.Is(err, account.ErrNotEnrolled) {
		t.Errorf("before Befejezés: got %v, want ErrNotEnrolled", err)
	}
	if err := s.Finish("u", false); !errors.Is(err, account.ErrNotConfirmed) {
		t.Errorf("Befejezés without checkbox: got %v", err)
	}
	if err := s.Finish("u", true); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckCode("u", code); !errors.Is(err, account.ErrBadCode) {
		t.Errorf("enrollment code at first login: got %v, want ErrBadCode", err)
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	s, c := newStore(account.DefaultPolicy())
	sec, _ := enrolled(t, s, c, "u")
	for i := 1; i <= 4; i++ {
		if err := s.CheckCode("u", "000000"); !errors.Is(err, account.ErrBadCode) {
			t.Fatalf("wrong code %d: got %v, want ErrBadCode", i, err)
		}
	}
	if s.Locked("u") {
		t.Fatal("locked after 4 wrong codes")
	}
	if err := s.CheckCode("u", "000000"); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("5th wrong code: got %v, want ErrLocked", err)
	}
	right := codeAt(t, sec, c.Now())
	if err := s.CheckCode("u", right); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("right code while locked: got %v, want ErrLocked", err)
	}
	c.Advance(15*time.Minute - time.Nanosecond)
	if !s.Locked("u") {
		t.Fatal("not locked just before 15:00")
	}
	c.Advance(time.Nanosecond)
	if s.Locked("u") {
		t.Fatal("still locked at exactly 15:00")
	}
	// The right code refused while locked was not used up, but its step is
	// now far behind: use the current one.
	if err := s.CheckCode("u", codeAt(t, sec, c.Now())); err != nil {
		t.Fatalf("right code after the lock: %v", err)
	}
}

func TestLockedRightCodeNotUsedUp(t *testing.T) {
	t.Parallel()
	s, c := newStore(account.DefaultPolicy())
	sec, _ := enrolled(t, s, c, "u")
	for range 5 {
		s.CheckCode("u", "123 45x")
	}
	c.Advance(14*time.Minute + 50*time.Second)
	right := codeAt(t, sec, c.Now())
	if err := s.CheckCode("u", right); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("while locked: %v", err)
	}
	c.Advance(10 * time.Second) // 15:00 exactly; the same step still within skew
	if err := s.CheckCode("u", right); err != nil {
		t.Fatalf("the code refused while locked was used up: %v", err)
	}
}

func TestWrongRecoveryCountsAndOnce(t *testing.T) {
	t.Parallel()
	s, c := newStore(account.DefaultPolicy())
	sec, rc := enrolled(t, s, c, "u")
	for i := 1; i <= 4; i++ {
		s.CheckCode("u", "000000")
		_ = i
	}
	if err := s.Revoke("u", "WRONG-WRONG-WRON"); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("5th wrong attempt (a törlőkód): got %v, want ErrLocked", err)
	}
	if err := s.Revoke("u", rc); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("right törlőkód while locked: got %v", err)
	}
	c.Advance(15 * time.Minute)
	// Case, spaces and dashes do not matter (SPEC §7).
	lower := []byte(rc)
	for i := range lower {
		if lower[i] >= 'A' && lower[i] <= 'Z' {
			lower[i] += 'a' - 'A'
		}
	}
	if err := s.Revoke("u", " "+string(lower[:4])+"-"+string(lower[4:])+" "); err != nil {
		t.Fatalf("right törlőkód: %v", err)
	}
	if s.Enrolled("u") {
		t.Fatal("still enrolled after the törlőkód")
	}
	if err := s.CheckCode("u", codeAt(t, sec, c.Now())); !errors.Is(err, account.ErrNotEnrolled) {
		t.Errorf("old secret after revoke: got %v", err)
	}
	if err := s.Revoke("u", rc); !errors.Is(err, account.ErrNotEnrolled) {
		t.Errorf("törlőkód twice: got %v", err)
	}
	sec2, _, err := s.Enroll("u")
	if err != nil || sec2 == sec {
		t.Errorf("new phone: secret %v the old one, err %v", sec2 == sec, err)
	}
}

func TestEnrollmentPageRules(t *testing.T) {
	t.Parallel()
	s, c := newStore(account.DefaultPolicy())
	s.Add(account.Seed{Username: "u", Password: "p"})
	sec, _, _ := s.Enroll("u")
	again, _, _ := s.Enroll("u")
	if again != sec {
		t.Fatal("pending secret changed on a second view")
	}
	if _, err := s.ConfirmEnrollment("u", "wrong", "000000"); !errors.Is(err, account.ErrBadPassword) {
		t.Errorf("both wrong: got %v, want ErrBadPassword only", err)
	}
	for range 6 {
		if _, err := s.ConfirmEnrollment("u", "p", "000000"); !errors.Is(err, account.ErrBadCode) {
			t.Errorf("wrong code: got %v", err)
		}
	}
	if s.Locked("u") {
		t.Error("wrong codes on the enrollment page locked the user")
	}
	rc, err := s.ConfirmEnrollment("u", "p", " "+codeAt(t, sec, c.Now())[:3]+" "+codeAt(t, sec, c.Now())[3:])
	if err != nil {
		t.Fatalf("code with spaces: %v", err)
	}
	if len(rc) != account.RecoveryLen {
		t.Errorf("törlőkód %d characters, want %d", len(rc), account.RecoveryLen)
	}
	rc2, _ := s.Recovery("u")
	if rc2 != rc {
		t.Error("törlőkód changed on coming back")
	}
}

func TestCodeInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in string
		ok bool
	}{{"123456", true}, {"123 456", true}, {" 1 2 3 4 5 6 ", true}, {"12345", false}, {"1234567", false}, {"12345a", false}, {"１２３４５６", false}, {"", false}} {
		if _, ok := account.NormalizeCode(tt.in); ok != tt.ok {
			t.Errorf("NormalizeCode(%q) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}
}

func TestUsernamesCaseSensitive(t *testing.T) {
	t.Parallel()
	s, _ := newStore(account.DefaultPolicy())
	s.Add(account.Seed{Username: "Anna", Password: "p"})
	if _, err := s.CheckPassword("anna", "p"); !errors.Is(err, account.ErrBadLogin) {
		t.Errorf("anna for Anna: %v", err)
	}
	if err := s.Add(account.Seed{Username: "Anna", Password: "x"}); !errors.Is(err, account.ErrTaken) {
		t.Errorf("taken: %v", err)
	}
}

// TestManyUsersAtOnce enrolls and logs in 200 users at once (run -race).
func TestManyUsersAtOnce(t *testing.T) {
	t.Parallel()
	s, c := newStore(account.DefaultPolicy())
	secrets := sync.Map{}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 200 {
		wg.Go(func() {
			name := fmt.Sprintf("u%03d", i)
			if err := s.Add(account.Seed{Username: name, Password: "p"}); err != nil {
				errs <- err
				return
			}
			sec, _, err := s.Enroll(name)
			if err != nil {
				errs <- err
				return
			}
			if _, dup := secrets.LoadOrStore(sec, name); dup {
				errs <- fmt.Errorf("%s: secret shared with another user", name)
			}
			now := c.Now()
			if _, err := s.ConfirmEnrollment(name, "p", codeAt(t, sec, now)); err != nil {
				errs <- fmt.Errorf("%s confirm: %w", name, err)
				return
			}
			if err := s.Finish(name, true); err != nil {
				errs <- err
				return
			}
			if err := s.CheckCode(name, codeAt(t, sec, now.Add(30*time.Second))); err != nil {
				errs <- fmt.Errorf("%s login: %w", name, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// skew is the SPEC's policy with another skew (SPEC §2 lets a deployment
// choose 0, 1 or 2).
func skew(n int) account.Policy {
	p := account.DefaultPolicy()
	p.Skew = n
	return p
}

// TestRFC6238 checks the mock's code check against the SHA1 vectors of
// RFC 6238 Appendix B (their last 6 digits: the mock's codes are 6 long),
// on a user seeded with the RFC's key at each vector's time.
func TestRFC6238(t *testing.T) {
	t.Parallel()
	vectors := []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	}
	for _, v := range vectors {
		c := mockidp.FrozenClock(time.Unix(v.unix, 0))
		s := account.NewStore(c, skew(0))
		err := s.Add(account.Seed{Username: "rfc", Password: "pw", Secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CheckCode("rfc", v.code[2:]); err != nil {
			t.Errorf("at %d: code %s refused: %v", v.unix, v.code[2:], err)
		}
		if err := s.CheckCode("rfc", v.code[2:]); !errors.Is(err, account.ErrBadCode) {
			t.Errorf("at %d: the same code again: got %v, want %v", v.unix, err, account.ErrBadCode)
		}
	}
}

// TestEveryFaultChangesPolicy: each fault of the table moves the policy
// away from the SPEC's, and only the HTTP layer's faults leave it alone.
func TestEveryFaultChangesPolicy(t *testing.T) {
	t.Parallel()
	def := account.DefaultPolicy()
	for _, f := range account.AccountFaults {
		if reflect.DeepEqual(account.Faults{f}.Apply(def), def) {
			t.Errorf("fault %s leaves the policy as the SPEC has it", f)
		}
	}
	if !reflect.DeepEqual(account.Faults{"qr-differs"}.Apply(def), def) {
		t.Errorf("an HTTP fault changed the account policy")
	}
}
