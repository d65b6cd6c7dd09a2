package account

import (
	"crypto/subtle"
	"strings"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Period is the TOTP step (SPEC §2).
const Period = 30

// Step is the TOTP step number of a Unix time in seconds.
func Step(unix int64) int64 {
	if unix < 0 {
		return (unix - Period + 1) / Period
	}
	return unix / Period
}

// NormalizeCode drops spaces from a code (SPEC §7); ok is false when what
// is left is not exactly 6 ASCII digits.
func NormalizeCode(code string) (string, bool) {
	code = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\u00a0':
			return -1
		}
		return r
	}, code)
	if len(code) != 6 {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}

// match checks code against secret within the skew window. pquerna/otp's
// ValidateCustom says only yes or no, but replay protection needs the step
// that matched, so each step is checked on its own. A step at or before
// last is never accepted (SPEC §2). It returns the latest matching step.
func (s *Store) match(secret, code string, last int64) (int64, bool) {
	code, ok := NormalizeCode(code)
	if !ok {
		return 0, false
	}
	skew := int64(s.policy.Skew)
	cur := Step(s.clock.Now().Unix())
	found, best := false, int64(0)
	for st := cur - skew; st <= cur+skew; st++ {
		if st < 0 {
			continue
		}
		used := st <= last
		if !s.policy.RefuseEarlierSteps {
			used = st == last
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(st), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		// Every step is compared, used or not, so the time does not tell.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !used {
			found, best = true, st
		}
	}
	return best, found
}
