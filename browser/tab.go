package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Tab is one page in its own browser context: its own cookies and storage.
type Tab struct {
	b      *Browser
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	frame     cdp.FrameID
	requested int // main-frame navigations requested or started
	loading   bool
	loaded    chan struct{} // closed when the main frame stops loading
	gone      <-chan struct{}
}

// NewTab opens a tab in a new browser context.
func (b *Browser) NewTab(ctx context.Context) (*Tab, error) {
	tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t := &Tab{b: b, ctx: tctx, cancel: cancel, loaded: closedChan()}
	// The first run opens the tab and binds its life to the context it
	// gets: give it the tab's own, and bound the wait by ctx here.
	opened := make(chan error, 1)
	go func() {
		opened <- chromedp.Do(tctx, chromedp.EmulateViewport(int64(b.opts.Width), int64(b.opts.Height)))
	}()
	var err error
	select {
	case err = <-opened:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		if !b.Alive(context.Background()) {
			return nil, fmt.Errorf("open tab: %w", ErrCrashed)
		}
		return nil, fmt.Errorf("open tab: %w", err)
	}
	t.frame = cdp.FrameID(chromedp.FromContext(tctx).Target.TargetID)
	t.gone, _ = chromedp.Detached(tctx)
	if err := chromedp.Listen(tctx, t.event); err != nil {
		cancel()
		return nil, fmt.Errorf("listen to tab: %w", err)
	}
	return t, nil
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// event tracks the main frame's navigations. It runs in the tab's loop.
func (t *Tab) event(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := ev.(type) {
	case *page.EventFrameRequestedNavigation:
		if e.FrameID == t.frame {
			t.requested++
		}
	case *page.EventFrameStartedLoading:
		if e.FrameID == t.frame && !t.loading {
			t.requested++
			t.loading = true
			t.loaded = make(chan struct{})
		}
	case *page.EventFrameStoppedLoading:
		if e.FrameID == t.frame && t.loading {
			t.loading = false
			close(t.loaded)
		}
	}
}

// Close closes the tab and its browser context.
func (t *Tab) Close() {
	done := make(chan struct{})
	go func() { chromedp.Cancel(t.ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	t.cancel()
}

// run gives f the tab's context bounded by ctx, and turns a dead tab or
// browser into ErrCrashed.
func (t *Tab) run(ctx context.Context, f func(ctx context.Context) error) error {
	m, done := merge(t.ctx, ctx)
	defer done()
	err := f(m)
	if err == nil {
		return nil
	}
	select {
	case <-t.gone:
		return fmt.Errorf("%w (%v)", ErrCrashed, err)
	default:
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ctx.Err()
	}
	return err
}

// slow pauses for --slow-mo.
func (t *Tab) slow(ctx context.Context) error {
	if t.b.opts.SlowMo <= 0 {
		return nil
	}
	select {
	case <-time.After(t.b.opts.SlowMo):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open loads url and waits for its load event.
func (t *Tab) Open(ctx context.Context, url string) error {
	return t.run(ctx, func(ctx context.Context) error {
		res, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
		if err != nil {
			return fmt.Errorf("open %s: %w", url, err)
		}
		if res != nil && res.Status >= 400 {
			return fmt.Errorf("open %s: HTTP %d %s", url, res.Status, res.StatusText)
		}
		return nil
	})
}

// settle waits for a navigation that an input started: the renderer has
// run the input when the evaluation below answers, so a form submission
// has asked for its navigation by then. It then waits for the load.
func (t *Tab) settle(ctx context.Context, before int) error {
	_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))`, chromedp.EvalAwaitPromise))
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	// An error here is most often the old document going away: a navigation.
	deadline := time.Now().Add(150 * time.Millisecond)
	for {
		t.mu.Lock()
		n, loading, loaded := t.requested, t.loading, t.loaded
		t.mu.Unlock()
		if n > before && loading {
			select {
			case <-loaded:
				return t.waitReady(ctx)
			case <-ctx.Done():
				return fmt.Errorf("wait for the page to load: %w", ctx.Err())
			case <-t.gone:
				return ErrCrashed
			}
		}
		if n == before || time.Now().After(deadline) {
			if n > before {
				return t.waitReady(ctx)
			}
			return nil
		}
		// Requested but not started yet: a short poll, bounded above.
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitReady waits until the document is complete.
func (t *Tab) waitReady(ctx context.Context) error {
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 100*time.Millisecond) {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		if err == nil && state == "complete" {
			return nil
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("wait for the page to load: %w", ctx.Err())
		}
	}
}

func (t *Tab) navCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requested
}

// URL returns the page's address.
func (t *Tab) URL(ctx context.Context) (string, error) {
	var u string
	err := t.run(ctx, func(ctx context.Context) (err error) {
		u, err = chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		return err
	})
	return u, err
}

// Title returns the page's title.
func (t *Tab) Title(ctx context.Context) (string, error) {
	var s string
	err := t.run(ctx, func(ctx context.Context) (err error) {
		s, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
		return err
	})
	return s, err
}

// Text returns the page's visible text, whitespace collapsed.
func (t *Tab) Text(ctx context.Context) (string, error) {
	var s string
	err := t.run(ctx, func(ctx context.Context) (err error) {
		s, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		return err
	})
	return collapse(s), err
}

// collapse makes runs of white space one space and trims the ends.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// Screenshot is a PNG of the viewport.
func (t *Tab) Screenshot(ctx context.Context) ([]byte, error) {
	var b []byte
	err := t.run(ctx, func(ctx context.Context) (err error) {
		res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
		b = res.Data
		return err
	})
	return b, err
}

// Evaluate runs a JavaScript expression in the page, for the runner's
// own checks (an injected axe-core, say).
func (t *Tab) Evaluate(ctx context.Context, expr string) ([]byte, error) {
	var out []byte
	err := t.run(ctx, func(ctx context.Context) (err error) {
		out, err = chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
		return err
	})
	return out, err
}

var _ = runtime.RemoteObjectID("")
