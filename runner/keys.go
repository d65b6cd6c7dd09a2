package runner

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/otpauth"
	"github.com/kapu-dev/kapu/qr"
)

// Steps of keys and time: scan a QR code, compute a code, move the clock.

// scan decodes the QR code in an element's pixels into a variable.

func (fr *flowRun) scan(ctx context.Context, s flow.Scan) (string, error) {
	l, err := fr.locator(s.Target)
	if err != nil {
		return "scan", err
	}
	text := fmt.Sprintf("scan %s → %s", shown(l), s.As)
	png, err := fr.tab.ElementScreenshot(ctx, l)
	if err != nil {
		return text, err
	}
	v, err := qr.Decode(png)
	if err != nil {
		return text, err
	}
	fr.secretLoc(l)
	if strings.HasPrefix(strings.ToLower(v), "otpauth:") {
		k, err := otpauth.Parse(v)
		if err != nil {
			return text, fmt.Errorf("the QR code holds a broken otpauth URI: %w", err)
		}
		fr.r.mask.add(k.Secret) // the URI shows, its secret masked
		fr.set(s.As, v, false)
		return fmt.Sprintf("%s = %q", text, v), nil
	}
	// Any other QR text (a DÁP approval URL) is a one-time capability, a
	// bearer secret until used: masked whole, and its token wherever it
	// shows on its own.
	fr.set(s.As, v, true)
	for _, part := range oneTimeParts(v) {
		fr.r.mask.add(part)
	}
	return fmt.Sprintf("%s = %q", text, fr.r.mask.mask(v)), nil
}

// oneTimeParts are the pieces of a scanned URL that carry its capability:
// path segments and query values that look like tokens (16 or more
// letters, digits, - or _), never ordinary words such as "login".
func oneTimeParts(v string) []string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" {
		return nil
	}
	var parts []string
	for _, seg := range strings.Split(u.Path, "/") {
		if looksLikeToken(seg) {
			parts = append(parts, seg)
		}
	}
	for _, vals := range u.Query() {
		for _, v := range vals {
			if looksLikeToken(v) {
				parts = append(parts, v)
			}
		}
	}
	return parts
}

func looksLikeToken(s string) bool {
	if len(s) < 16 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// totp computes a code at phone time. On the wall clock it never gives a
// code of a step already used for this key: it waits for the next step.
func (fr *flowRun) totp(ctx context.Context, s flow.TOTP) (string, error) {
	key := strings.TrimSuffix(strings.TrimPrefix(s.Key.Raw, "${"), "}")
	text := fmt.Sprintf("totp %s → %s", key, s.As)
	if s.Skew != 0 {
		text = fmt.Sprintf("totp %s, phone clock %+v → %s", key, s.Skew, s.As)
	}
	v, _, err := fr.expand(s.Key)
	if err != nil {
		return text, err
	}
	k, err := otpauth.FromText(v)
	if err != nil {
		return text, err
	}
	fr.r.mask.add(k.Secret)
	now, err := fr.t.Clock.Now(ctx)
	if err != nil {
		return text, fmt.Errorf("read the IdP clock: %w", err)
	}
	if fr.t.Real {
		// On a running clock the code is typed and sent after this: never
		// compute one in the last moments of the IdP's step, where the
		// step could change before the IdP checks it (and a case about
		// the previous or next step would test another one).
		period := time.Duration(k.Period) * time.Second
		if left := period - now.Sub(now.Truncate(period)); left < realCodeMargin {
			wait := left + 300*time.Millisecond
			if err := fr.t.Clock.Advance(ctx, wait); err != nil {
				return text, err
			}
			now = now.Add(wait)
		}
	}
	phone := now.Add(s.Skew)
	if fr.t.Real {
		phone, err = fr.noReplay(ctx, k, now, phone, s.Skew == 0)
		if err != nil {
			return text, err
		}
	}
	code, err := k.Code(phone)
	if err != nil {
		return text, err
	}
	fr.set(s.As, code, true)
	return text + " = " + Mask, nil
}

// noReplay keeps a flow on the wall clock from replaying a code by
// accident: a code meant to work (no phone skew) waits for a step after
// the last one this run used with the key. Codes near enough to the IdP's
// step to be accepted (one step either side) count as used; a code of a
// skewed phone is sent as asked, whatever was used before (a flow sends
// an old code on purpose to see it refused).
func (fr *flowRun) noReplay(ctx context.Context, k otpauth.Key, now, phone time.Time, meantToWork bool) (time.Time, error) {
	period := int64(k.Period)
	step := phone.Unix() / period
	fr.r.lastMu.Lock()
	last, used := fr.r.lastStep[k.Secret]
	fr.r.lastMu.Unlock()
	if meantToWork && used && step <= last {
		wait := time.Unix((last+1)*period, 0).Sub(phone)
		if err := fr.t.Clock.Advance(ctx, wait); err != nil {
			return phone, err
		}
		phone, now, step = phone.Add(wait), now.Add(wait), last+1
	}
	if d := step - now.Unix()/period; d >= -1 && d <= 1 {
		fr.r.lastMu.Lock()
		fr.r.lastStep[k.Secret] = max(fr.r.lastStep[k.Secret], step)
		fr.r.lastMu.Unlock()
	}
	return phone, nil
}

// realCodeMargin is how much of its step a code computed on a running
// clock has left at least, for typing it and sending it.
const realCodeMargin = 3 * time.Second

// clock moves the IdP clock through the target's Clock: the test API
// jumps, the wall clock waits. Only forward.
func (fr *flowRun) clock(ctx context.Context, s flow.Clock) (string, error) {
	var text string
	switch s.Move {
	case flow.Advance:
		text = "clock +" + s.D.String()
	case flow.BeforeBoundary:
		text = fmt.Sprintf("clock to %s before a 30 s boundary", s.D)
	case flow.AfterBoundary:
		text = fmt.Sprintf("clock to %s after a 30 s boundary", s.D)
	}
	now, err := fr.t.Clock.Now(ctx)
	if err != nil {
		return text, fmt.Errorf("read the IdP clock: %w", err)
	}
	move := s.D
	if s.Move != flow.Advance {
		next := now.Truncate(period).Add(period) // the next boundary
		target := next.Add(s.D)
		if s.Move == flow.BeforeBoundary {
			target = next.Add(-s.D)
			if !target.After(now) {
				target = target.Add(period)
			}
		}
		move = target.Sub(now)
	}
	if err := fr.t.Clock.Advance(ctx, move); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return text, err
		}
		return text, fmt.Errorf("move the IdP clock: %w", err)
	}
	return fmt.Sprintf("%s (+%s)", text, move.Round(time.Millisecond)), nil
}
