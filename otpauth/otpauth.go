// Package otpauth reads otpauth:// Key URIs (as authenticator apps do)
// and computes TOTP codes of a key at a time with pquerna/otp. It is the
// runner's own reader, independent of the mock's writer, so that one bug
// cannot hide on both sides.
package otpauth

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Key is a TOTP key as an authenticator app keeps it.
type Key struct {
	Issuer    string
	Account   string
	Secret    string // base32, upper case, no padding or spaces
	Algorithm string // SHA1, SHA256 or SHA512
	Digits    int
	Period    int // seconds
}

// ErrNotKey means the text is neither an otpauth URI nor a base32 secret.
var ErrNotKey = errors.New("not an otpauth:// URI or base32 secret")

// Parse reads an otpauth://totp/ URI, percent-decoding the label and the
// query, so that "%2B" is "+" and "Ü" survives.
func Parse(uri string) (Key, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return Key{}, fmt.Errorf("otpauth URI: %w", err)
	}
	if u.Scheme != "otpauth" {
		return Key{}, fmt.Errorf("%w: scheme %q", ErrNotKey, u.Scheme)
	}
	if u.Host != "totp" {
		return Key{}, fmt.Errorf("otpauth URI: type %q, want totp", u.Host)
	}
	label := strings.TrimPrefix(u.Path, "/")
	k := Key{Algorithm: "SHA1", Digits: 6, Period: 30}
	if issuer, account, ok := strings.Cut(label, ":"); ok {
		k.Issuer, k.Account = issuer, strings.TrimLeft(account, " ")
	} else {
		k.Account = label
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Key{}, fmt.Errorf("otpauth URI query: %w", err)
	}
	for name, vs := range q {
		if len(vs) > 1 {
			return Key{}, fmt.Errorf("otpauth URI: %s given %d times", name, len(vs))
		}
	}
	if iss := q.Get("issuer"); iss != "" {
		if k.Issuer != "" && k.Issuer != iss {
			return Key{}, fmt.Errorf("otpauth URI: issuer %q in the label, %q in the query", k.Issuer, iss)
		}
		k.Issuer = iss
	}
	if k.Secret, err = NormalizeSecret(q.Get("secret")); err != nil {
		return Key{}, fmt.Errorf("otpauth URI: %w", err)
	}
	if a := q.Get("algorithm"); a != "" {
		k.Algorithm = strings.ToUpper(a)
		if k.Algorithm != "SHA1" && k.Algorithm != "SHA256" && k.Algorithm != "SHA512" {
			return Key{}, fmt.Errorf("otpauth URI: algorithm %q, want SHA1, SHA256 or SHA512", a)
		}
	}
	if d := q.Get("digits"); d != "" {
		if k.Digits, err = strconv.Atoi(d); err != nil || (k.Digits != 6 && k.Digits != 8) {
			return Key{}, fmt.Errorf("otpauth URI: digits %q, want 6 or 8", d)
		}
	}
	if p := q.Get("period"); p != "" {
		if k.Period, err = strconv.Atoi(p); err != nil || k.Period < 1 || k.Period > 3600 {
			return Key{}, fmt.Errorf("otpauth URI: period %q, want seconds from 1 to 3600", p)
		}
	}
	return k, nil
}

// NormalizeSecret reads a base32 secret as people type it: spaces and
// dashes ignored, any case, padding optional.
func NormalizeSecret(s string) (string, error) {
	s = strings.ToUpper(strings.TrimRight(strings.NewReplacer(" ", "", "-", "", "\u00a0", "").Replace(s), "="))
	if s == "" {
		return "", fmt.Errorf("%w: no secret", ErrNotKey)
	}
	padded := s + strings.Repeat("=", (8-len(s)%8)%8) // as pquerna/otp reads it
	if b, err := base32.StdEncoding.DecodeString(padded); err != nil || len(b) == 0 {
		return "", fmt.Errorf("%w: secret is not base32", ErrNotKey)
	}
	return s, nil
}

// FromText reads a key from an otpauth URI or from a bare base32 secret
// (a manual key), which is SHA1, 6 digits, 30 s.
func FromText(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(s), "otpauth:") {
		return Parse(s)
	}
	sec, err := NormalizeSecret(s)
	if err != nil {
		return Key{}, err
	}
	return Key{Secret: sec, Algorithm: "SHA1", Digits: 6, Period: 30}, nil
}

// Code is the key's code at t.
func (k Key) Code(t time.Time) (string, error) {
	alg := map[string]otp.Algorithm{"SHA1": otp.AlgorithmSHA1, "SHA256": otp.AlgorithmSHA256, "SHA512": otp.AlgorithmSHA512}[k.Algorithm]
	digits := otp.DigitsSix
	if k.Digits == 8 {
		digits = otp.DigitsEight
	}
	return totp.GenerateCodeCustom(k.Secret, t, totp.ValidateOpts{Period: uint(k.Period), Digits: digits, Algorithm: alg})
}
