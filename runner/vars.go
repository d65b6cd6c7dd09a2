package runner

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/otpauth"
)

// secretEnv names environment variables whose values are secrets.
var secretEnv = regexp.MustCompile(`(?i)pass|secret|key|token|code|torlo`)

// expand fills in a Text's variables; secret is true when any is a secret.
func (fr *flowRun) expand(t flow.Text) (val string, secret bool, err error) {
	val, err = t.Expand(func(r flow.Ref) (string, error) {
		v, s, err := fr.lookup(r)
		secret = secret || s
		return v, err
	})
	return val, secret, err
}

func (fr *flowRun) lookup(r flow.Ref) (string, bool, error) {
	if r.Env() {
		v := fr.r.opts.Getenv(r.Name)
		if v == "" {
			return "", false, fmt.Errorf("environment variable %s is not set", r.Name)
		}
		secret := secretEnv.MatchString(r.Name)
		if secret {
			fr.r.mask.add(v)
		}
		return v, secret, nil
	}
	if r.Field != "" {
		if v, ok := fr.vars[r.Name+"."+r.Field]; ok {
			return v, fr.secretVars[r.Name+"."+r.Field], nil
		}
	}
	v, ok := fr.vars[r.Name]
	if !ok {
		return "", false, fmt.Errorf("variable %s is not set", r)
	}
	secret := fr.secretVars[r.Name]
	if r.Field == "" {
		return v, secret, nil
	}
	f, err := keyField(v, r.Field)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", r, err)
	}
	// The secret of a key is always a secret, whatever its variable.
	if r.Field == "secret" {
		fr.r.mask.add(f)
		return f, true, nil
	}
	return f, secret, nil
}

// keyField reads a field of a value that holds an otpauth URI (or, for
// secret, a bare base32 key).
func keyField(v, field string) (string, error) {
	k, err := otpauth.FromText(v)
	if err != nil {
		return "", err
	}
	switch field {
	case "secret":
		return k.Secret, nil
	case "issuer":
		return k.Issuer, nil
	case "account":
		return k.Account, nil
	case "label":
		if k.Issuer == "" {
			return k.Account, nil
		}
		return k.Issuer + ":" + k.Account, nil
	case "algorithm":
		return k.Algorithm, nil
	case "digits":
		return strconv.Itoa(k.Digits), nil
	case "period":
		return strconv.Itoa(k.Period), nil
	case "scheme", "type":
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || u.Scheme == "" {
			return "", fmt.Errorf("not a URI")
		}
		if field == "scheme" {
			return u.Scheme, nil
		}
		return u.Host, nil
	}
	return "", fmt.Errorf("no field %q", field)
}
