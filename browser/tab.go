package browser

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/kapu-dev/kapu/internal/poll"
)

// Tab is one page in its own browser context: its own cookies and storage.
type Tab struct {
	b      *Browser
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	frame   cdp.FrameID
	nav     navCount
	changed chan struct{} // closed (and replaced) when nav changes
	gone    <-chan struct{}
}

// NewTab opens a tab in a new browser context.
func (b *Browser) NewTab(ctx context.Context) (*Tab, error) {
	tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t := &Tab{b: b, ctx: tctx, cancel: cancel, changed: make(chan struct{})}
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
	// chromedp turns on the Network, CSS and Log domains of every tab:
	// their events (every request and response, every style sheet, every
	// console line) cost Chromium's browser process about a tenth of the
	// suite's CPU (docs/performance.md), and nothing here reads them.
	// Setting a cookie works without them.
	for _, m := range []string{"Network.disable", "CSS.disable", "Log.disable"} {
		if err := chromedp.FromContext(tctx).Target.Call(tctx, m, cdp.Empty{}, nil); err != nil {
			cancel()
			return nil, fmt.Errorf("open tab: %s: %w", m, err)
		}
	}
	t.gone, _ = chromedp.Detached(tctx)
	if err := chromedp.Listen(tctx, t.event); err != nil {
		cancel()
		return nil, fmt.Errorf("listen to tab: %w", err)
	}
	return t, nil
}

// navCount counts the main frame's navigations: requested, started
// loading, stopped loading; loading tells whether the last of the two was
// a start. A navigation that starts while another loads (a form that
// submits itself as its page loads, like a SAML POST back to an app) may
// give two starts and one stop: the counts alone would never settle.
type navCount struct {
	requested, started, stopped int
	loading                     bool
}

// event tracks the main frame's navigations and wakes those waiting for
// one. It runs in the tab's loop.
func (t *Tab) event(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := ev.(type) {
	case *page.EventFrameRequestedNavigation:
		if e.FrameID != t.frame {
			return
		}
		t.nav.requested++
	case *page.EventFrameStartedLoading:
		if e.FrameID != t.frame {
			return
		}
		t.nav.started++
		t.nav.loading = true
	case *page.EventFrameStoppedLoading:
		if e.FrameID != t.frame {
			return
		}
		t.nav.stopped++
		t.nav.loading = false
	default:
		return
	}
	close(t.changed)
	t.changed = make(chan struct{})
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
	var exit *exec.ExitError
	if errors.As(err, &exit) || t.b.ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ErrCrashed, exit)
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

// Open loads url and waits for its load event. It returns the HTTP
// status: an error page is still a page a flow may look at.
func (t *Tab) Open(ctx context.Context, url string) (int, error) {
	status := 0
	err := t.run(ctx, func(ctx context.Context) error {
		before := t.navCount()
		// The document being left: until another one is there and loaded, a
		// check could otherwise run on it (under load, the load events may
		// come after Navigate has answered).
		left := t.loaderID(ctx)
		res, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: url})
		if err != nil {
			return fmt.Errorf("open %s: %w", url, err)
		}
		if res.ErrorText != "" {
			return fmt.Errorf("open %s: %s", url, res.ErrorText)
		}
		if err := t.settle(ctx, before); err != nil {
			return fmt.Errorf("open %s: %w", url, err)
		}
		if res.LoaderID != "" { // a new document, not a move within this one
			err := poll.Until(ctx, poll.Load, func() bool {
				if id := t.loaderID(ctx); id == "" || id == left {
					return false
				}
				state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
				return err == nil && state == "complete"
			})
			if err != nil {
				return fmt.Errorf("open %s: wait for the page to load: %w", url, err)
			}
		}
		status, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`(performance.getEntriesByType("navigation")[0] || {}).responseStatus || 0`))
		return nil
	})
	return status, err
}

// loaderID names the main frame's current document ("" if unknown).
func (t *Tab) loaderID(ctx context.Context) cdp.LoaderID {
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil || tree.FrameTree == nil || tree.FrameTree.Frame == nil {
		return ""
	}
	return tree.FrameTree.Frame.LoaderID
}

// settle waits for a navigation that an input started: the renderer has
// run the input when the evaluation below answers, so a form submission
// has asked for its navigation by then. It then waits for the load.
func (t *Tab) settle(ctx context.Context, before navCount) error {
	_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`new Promise(r => setTimeout(r, 0))`, chromedp.EvalAwaitPromise))
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	// An error above is most often the old document going away: a navigation.
	now := t.navCount()
	if now.requested == before.requested && now.started == before.started {
		return nil // no navigation
	}
	// A requested navigation that never starts loading (a 204, say) is given
	// up after a while; one that started is waited for until it stops. The
	// tab's navigation events wake the wait: no polling.
	startBy := time.NewTimer(2 * time.Second)
	defer startBy.Stop()
	for {
		now, changed := t.navState()
		if now.stopped > before.stopped && !now.loading {
			return t.waitReady(ctx)
		}
		select {
		case <-changed:
		case <-startBy.C:
			if t.navCount().started == before.started {
				return nil
			}
		case <-t.gone:
			return ErrCrashed
		case <-ctx.Done():
			return fmt.Errorf("wait for the page to load: %w", ctx.Err())
		}
	}
}

// waitReady waits until the document is complete.
func (t *Tab) waitReady(ctx context.Context) error {
	err := poll.Until(ctx, poll.Load, func() bool {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		return err == nil && state == "complete"
	})
	if err != nil {
		return fmt.Errorf("wait for the page to load: %w", err)
	}
	return nil
}

func (t *Tab) navCount() navCount {
	n, _ := t.navState()
	return n
}

// navState is the navigation count and a channel closed when it changes.
func (t *Tab) navState() (navCount, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nav, t.changed
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

// SetCookie gives the tab's browser context a cookie for the site of
// rawURL (HttpOnly, SameSite Lax), before it opens a page there.
func (t *Tab) SetCookie(ctx context.Context, rawURL, name, value string) error {
	return t.run(ctx, func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
			Name: name, Value: value, URL: rawURL, Path: "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteLax,
		})
		if err != nil {
			return fmt.Errorf("set cookie %s: %w", name, err)
		}
		return nil
	})
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

// Thumbnail is a small WebP of the viewport (a third of a JPEG of the
// same legibility), for reports with a picture
// of every step.
func (t *Tab) Thumbnail(ctx context.Context, scale float64, quality int) ([]byte, error) {
	var b []byte
	err := t.run(ctx, func(ctx context.Context) error {
		// The clip is in page coordinates: start it where the page is scrolled to.
		m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return err
		}
		vp := page.Viewport{Width: float64(t.b.opts.Width), Height: float64(t.b.opts.Height), Scale: scale}
		if v := m.CSSVisualViewport; v != nil {
			vp.X, vp.Y, vp.Width, vp.Height = v.PageX, v.PageY, v.ClientWidth, v.ClientHeight
		}
		res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatWebp, Quality: new(int64(quality)), Clip: &vp,
		})
		b = res.Data
		return err
	})
	return b, err
}
