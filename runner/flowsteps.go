package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/kapu-dev/kapu/flow"
)

// Steps about the flow itself: reading values, waiting, devices.

// read keeps an element's value, text or attribute in a variable.
func (fr *flowRun) read(ctx context.Context, s flow.Read) (string, error) {
	tab := fr.tab
	l, err := fr.locator(s.Target)
	if err != nil {
		return "read", err
	}
	text := fmt.Sprintf("read %s → %s", shown(l), s.As)
	v, err := tab.Read(ctx, l, s.Attr)
	if err != nil {
		return text, err
	}
	if s.Secret {
		fr.secretLoc(l)
	}
	fr.set(s.As, v, s.Secret)
	return fmt.Sprintf("%s = %q", text, v), nil
}

// wait waits a real duration.
func (fr *flowRun) wait(ctx context.Context, s flow.Wait) (string, error) {
	t := time.NewTimer(s.D)
	defer t.Stop()
	select {
	case <-t.C:
		return "wait " + s.D.String(), nil
	case <-ctx.Done():
		return "wait " + s.D.String(), ctx.Err()
	}
}

// setVars sets a variable.
func (fr *flowRun) setVars(ctx context.Context, s flow.Set) (string, error) {
	v, secret, err := fr.expand(s.Value)
	if err != nil {
		return "set " + s.Name, err
	}
	fr.set(s.Name, v, secret || s.Secret)
	return fmt.Sprintf("set %s = %q", s.Name, v), nil
}

// screenshot names a step whose screenshot the report keeps.
func (fr *flowRun) screenshot(ctx context.Context, s flow.Screenshot) (string, error) {
	return "screenshot " + s.Name, nil // every captured step keeps one
}

// device goes on in another browser context, made on first use.
func (fr *flowRun) device(ctx context.Context, s flow.Device) (string, error) {
	if t, ok := fr.tabs[s.Name]; ok {
		fr.tab = t
		return "device " + s.Name, nil
	}
	t, err := fr.newTab(ctx)
	if err != nil {
		return "device " + s.Name + " (new)", err
	}
	fr.tabs[s.Name], fr.tab = t, t
	return "device " + s.Name + " (new)", nil
}
