package browser

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Keyboard-only actions: what a person without a mouse does. Each first
// reaches the element with Tab, so an element out of the tab order fails.

// KeyClick reaches the element with Tab and presses Enter (Space for a
// checkbox, radio or switch), then waits for any navigation.
func (t *Tab) KeyClick(ctx context.Context, l Locator) error {
	if _, err := t.TabTo(ctx, l); err != nil {
		return err
	}
	return t.run(ctx, func(ctx context.Context) error {
		key := kb.Enter
		space, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const a = document.activeElement, r = a.getAttribute("role");
			return (a.tagName === "INPUT" && ["checkbox", "radio"].includes(a.type)) || ["checkbox", "radio", "switch"].includes(r);
		})()`))
		if err != nil {
			return err
		}
		if space {
			key = " "
		}
		before := t.navCount()
		if err := chromedp.Do(ctx, chromedp.KeyEvent(key)); err != nil {
			return fmt.Errorf("press %q: %w", key, err)
		}
		return t.settle(ctx, before)
	})
}

// KeyFill reaches the field with Tab, selects what is in it and types
// value over it.
func (t *Tab) KeyFill(ctx context.Context, l Locator, value string) error {
	if _, err := t.TabTo(ctx, l); err != nil {
		return err
	}
	return t.run(ctx, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(kb.Delete)); err != nil {
			return err
		}
		if value == "" {
			return nil
		}
		return chromedp.Do(ctx, chromedp.KeyEvent(value))
	})
}

// KeySetChecked reaches the checkbox with Tab and presses Space if its
// state is not the one wanted.
func (t *Tab) KeySetChecked(ctx context.Context, l Locator, want bool) error {
	return t.setChecked(ctx, l, want, t.KeyClick, "with Space")
}
