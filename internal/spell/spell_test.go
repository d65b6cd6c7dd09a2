package spell_test

import (
	"testing"

	"github.com/kapu-dev/kapu/internal/spell"
)

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"click", "click", 0},
		{"clik", "click", 1},
		{"cilck", "click", 1}, // a swap is one edit
		{"Jelszó", "jelszo", 2},
		{"Ügyfélkapu", "Ügyfélkapu+", 1},
		{"abc", "", 3},
	}
	for _, tt := range tests {
		if got := spell.Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	steps := []string{"click", "check", "fill", "expect"}
	for s, want := range map[string]string{"clik": "click", "exepct": "expect", "Fill": "fill", "zzzzzz": "", "x": ""} {
		if got := spell.Closest(s, steps); got != want {
			t.Errorf("Closest(%q) = %q, want %q", s, got, want)
		}
	}
}
