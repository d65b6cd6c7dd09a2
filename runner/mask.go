package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Mask is what a secret looks like in every log and report.
const Mask = "••••"

// masker hides every secret the run has seen: passwords, keys, codes,
// törlőkódok, in the forms people write them (grouped by spaces or dashes).
type masker struct {
	mu      sync.RWMutex
	secrets []string // longest first
}

func (m *masker) add(s string) {
	s = strings.TrimSpace(s)
	if len([]rune(s)) < 4 {
		return // too short to mask without masking ordinary words
	}
	forms := []string{s}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	if compact != s && len(compact) >= 4 {
		forms = append(forms, compact)
	}
	if isAlnum(compact) && len(compact) >= 8 {
		forms = append(forms, group(compact, " "), group(compact, "-"), strings.ToLower(compact), strings.ToLower(group(compact, " ")))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range forms {
		if !slices.Contains(m.secrets, f) {
			m.secrets = append(m.secrets, f)
		}
	}
	slices.SortFunc(m.secrets, func(a, b string) int { return len(b) - len(a) })
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

func group(s, sep string) string {
	var b strings.Builder
	for i, r := range []rune(s) {
		if i > 0 && i%4 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mask replaces every secret in s.
func (m *masker) mask(s string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, sec := range m.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}

// list returns the secrets, for blurring them on screen.
func (m *masker) list() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.secrets)
}

// fingerprint tells two secrets apart in a failure without showing them.
func fingerprint(s string) string {
	h := sha256.Sum256([]byte(s))
	return Mask + " (sha256 " + hex.EncodeToString(h[:3]) + "…)"
}
