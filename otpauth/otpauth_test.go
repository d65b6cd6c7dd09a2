package otpauth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/otpauth"
)

func TestParse(t *testing.T) {
	t.Parallel()
	k, err := otpauth.Parse("otpauth://totp/%C3%9Cgyf%C3%A9lkapu%2B:teszt.elek?secret=JBSWY3DPEHPK3PXP&issuer=%C3%9Cgyf%C3%A9lkapu%2B&algorithm=SHA1&digits=6&period=30")
	if err != nil {
		t.Fatal(err)
	}
	want := otpauth.Key{Issuer: "Ügyfélkapu+", Account: "teszt.elek", Secret: "JBSWY3DPEHPK3PXP", Algorithm: "SHA1", Digits: 6, Period: 30}
	if k != want {
		t.Errorf("got %+v, want %+v", k, want)
	}
	// RFC 6238 test vector (SHA1, 8 digits at 59 s): 94287082.
	k8 := otpauth.Key{Secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", Algorithm: "SHA1", Digits: 8, Period: 30}
	if c, _ := k8.Code(time.Unix(59, 0)); c != "94287082" {
		t.Errorf("RFC 6238 vector: %s", c)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ uri, want string }{
		{"https://example.com", "not an otpauth"},
		{"otpauth://hotp/x?secret=JBSWY3DP", "want totp"},
		{"otpauth://totp/x?secret=JBSWY3DP&algorithm=MD5", "algorithm"},
		{"otpauth://totp/x?secret=1111", "not base32"},
		{"otpauth://totp/x", "no secret"},
		{"otpauth://totp/x?secret=JBSWY3DP&digits=7", "digits"},
		{"otpauth://totp/x?secret=JBSWY3DP&period=0", "period"},
		{"otpauth://totp/A:x?secret=JBSWY3DP&issuer=B", "issuer"},
		{"otpauth://totp/x?secret=JBSWY3DP&secret=JBSWY3DP", "2 times"},
		{"otpauth://totp/%zz", "otpauth URI"},
	} {
		_, err := otpauth.Parse(tt.uri)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.uri, err, tt.want)
		}
	}
	if _, err := otpauth.FromText("hello world!"); !errors.Is(err, otpauth.ErrNotKey) {
		t.Errorf("FromText of prose: %v", err)
	}
	if k, err := otpauth.FromText("jbsw y3dp ehpk 3pxp"); err != nil || k.Secret != "JBSWY3DPEHPK3PXP" {
		t.Errorf("manual key: %+v %v", k, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("otpauth://totp/%C3%9Cgyf%C3%A9lkapu%2B:a?secret=JBSWY3DPEHPK3PXP&issuer=%C3%9Cgyf%C3%A9lkapu%2B")
	f.Add("otpauth://totp/x?secret=A&digits=8&period=60&algorithm=sha512")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := otpauth.Parse(s)
		if err != nil {
			return
		}
		if _, err := k.Code(time.Unix(1e9, 0)); err != nil {
			t.Errorf("parsed %q but no code: %v", s, err)
		}
	})
}

// TestRFC6238 checks Key.Code against every test vector of RFC 6238
// Appendix B, so a bug in the TOTP library would not pass unseen on both
// sides (the mock uses the same library).
func TestRFC6238(t *testing.T) {
	t.Parallel()
	seeds := map[string]string{ // the ASCII seeds of Appendix B, in base32
		"SHA1":   "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"SHA256": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA",
		"SHA512": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA",
	}
	for _, v := range rfc6238 {
		k := otpauth.Key{Secret: seeds[v.alg], Algorithm: v.alg, Digits: 8, Period: 30}
		got, err := k.Code(time.Unix(v.unix, 0))
		if err != nil || got != v.code {
			t.Errorf("%s at %d: got %q (%v), want %q", v.alg, v.unix, got, err, v.code)
		}
		k.Digits = 6
		if got, _ := k.Code(time.Unix(v.unix, 0)); got != v.code[2:] {
			t.Errorf("%s at %d, 6 digits: got %q, want %q", v.alg, v.unix, got, v.code[2:])
		}
	}
}

// rfc6238 is RFC 6238 Appendix B, verbatim.
var rfc6238 = []struct {
	unix int64
	code string
	alg  string
}{
	{59, "94287082", "SHA1"}, {59, "46119246", "SHA256"}, {59, "90693936", "SHA512"},
	{1111111109, "07081804", "SHA1"}, {1111111109, "68084774", "SHA256"}, {1111111109, "25091201", "SHA512"},
	{1111111111, "14050471", "SHA1"}, {1111111111, "67062674", "SHA256"}, {1111111111, "99943326", "SHA512"},
	{1234567890, "89005924", "SHA1"}, {1234567890, "91819424", "SHA256"}, {1234567890, "93441116", "SHA512"},
	{2000000000, "69279037", "SHA1"}, {2000000000, "90698825", "SHA256"}, {2000000000, "38618901", "SHA512"},
	{20000000000, "65353130", "SHA1"}, {20000000000, "77737706", "SHA256"}, {20000000000, "47863826", "SHA512"},
}
