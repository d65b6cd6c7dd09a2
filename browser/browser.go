// Package browser drives Chromium through chromedp: it starts or attaches
// to one browser, gives each flow a tab in its own browser context, finds
// elements the way a person perceives them (role and accessible name from
// Chromium's accessibility tree, label, visible text; CSS as an escape
// hatch), acts on them, waits, and takes screenshots. It knows nothing of
// flows, clocks or the IdP.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// ErrNoChromium says what to do when no browser is found.
var ErrNoChromium = errors.New("no Chromium found: apt-get install -y chromium, or pass --chromium PATH")

// ErrCrashed is the error of a step whose browser went away.
var ErrCrashed = errors.New("the browser crashed or was closed")

// Options say which browser to use and how.
type Options struct {
	Path      string        // Chromium to start; "": search the usual names
	RemoteURL string        // ws:// or http:// DevTools endpoint to attach to instead
	Headful   bool          // a visible window
	SlowMo    time.Duration // pause before each action, for people watching
	Width     int           // viewport; 0: 1000×900
	Height    int
	Flags     map[string]any // extra Chromium flags
	// ProfileDir is Chromium's user data directory; "": a temporary one.
	// The caller removes a directory it gives.
	ProfileDir string
}

// candidates are where Chromium is looked for, in order.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// headlessShells are Chromium's headless-only builds (Debian's package
// chromium-headless-shell): measured here, the same flows cost less than
// half the CPU time of the full browser in headless mode
// (docs/performance.md), so a headless run prefers one.
//
// Debian's /usr/bin/chromium-headless-shell is a script that runs the
// binary as its child, not with exec: the parent-death signal would end
// the script and leave the browser. So the binary is started directly.
var headlessShells = []string{"/usr/lib/chromium/chromium-headless-shell", "chrome-headless-shell", "headless_shell"}

// FindChromium returns the path of the browser to start: path if given,
// else for a headless run a headless shell if installed, else Chromium.
func FindChromium(path string) (string, error) {
	return findChromium(path, false)
}

func findChromium(path string, headful bool) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("--chromium %s: %w", path, ErrNoChromium)
		}
		return p, nil
	}
	names := candidates
	if !headful {
		names = append(slices.Clone(headlessShells), candidates...)
	}
	for _, c := range names {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Browser is one running (or attached) Chromium.
type Browser struct {
	opts     Options
	ctx      context.Context // has the browser
	cancel   func()
	alloc    func()
	mu       sync.Mutex
	crashed  bool
	path     string
	attached bool
	closed   sync.Once
}

// Start starts Chromium (or attaches to RemoteURL) and returns once it
// answers. ctx bounds the start only; Close ends the browser.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	if opts.Width == 0 {
		opts.Width, opts.Height = 1000, 900
	}
	b := &Browser{opts: opts}
	var actx context.Context
	if opts.RemoteURL != "" {
		actx, b.alloc = remote.NewAllocator(context.Background(), opts.RemoteURL)
		b.attached = true
	} else {
		path, err := findChromium(opts.Path, opts.Headful)
		if err != nil {
			return nil, err
		}
		b.path = path
		flags, err := execFlags(path, opts)
		if err != nil {
			return nil, err
		}
		actx, b.alloc = chromedp.NewExecAllocator(context.Background(), flags...)
	}
	b.ctx, b.cancel = chromedp.NewContext(actx)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(b.ctx) }()
	select {
	case err := <-started:
		if err != nil {
			b.Close()
			if b.attached {
				return nil, fmt.Errorf("connect to browser %s: %w", opts.RemoteURL, err)
			}
			return nil, fmt.Errorf("start chromium %s: %w", b.path, err)
		}
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("start chromium: %w", ctx.Err())
	}
	return b, nil
}

// execFlags are the command-line flags Chromium is started with.
func execFlags(path string, opts Options) ([]chromedp.ExecAllocatorOption, error) {
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.WindowSize(opts.Width, opts.Height),
		// No network here, and nothing to update: see the workplace notes.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		// RenderDocument gives every cross-document navigation a new frame,
		// widget and compositor in the renderer, and the back-forward cache
		// keeps the old page alive: measured here, a navigation of the
		// mock's pages costs half the CPU without them (114 → 58 ms of
		// Chromium CPU per navigation, docs/performance.md). A page behaves
		// the same either way.
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions,AutofillServerCommunication,BackForwardCache,RenderDocument"),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-hang-monitor", true),
		chromedp.Flag("disable-ipc-flooding-protection", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "hu-HU"),
	}
	if opts.ProfileDir != "" {
		// Chromium's own temporary files (shared memory, with
		// disable-dev-shm-usage) go inside the profile too, so that
		// removing it leaves nothing behind.
		// A Unix socket path has at most 107 bytes, and Chromium puts one
		// about 45 bytes deep in TMPDIR: a longer one stays as it is.
		flags = append(flags, chromedp.UserDataDir(opts.ProfileDir))
		if tmp := filepath.Join(opts.ProfileDir, "t"); len(tmp) <= 60 {
			if err := os.MkdirAll(tmp, 0o700); err != nil {
				return nil, fmt.Errorf("profile directory: %w", err)
			}
			flags = append(flags, chromedp.Env("TMPDIR="+tmp))
		}
	}
	if os.Geteuid() == 0 {
		flags = append(flags, chromedp.NoSandbox) // root: Chromium refuses the sandbox
	}
	if opts.Headful {
		flags = append(flags, chromedp.VisibleWindow)
	} else {
		flags = append(flags, chromedp.Headless)
	}
	for k, v := range opts.Flags {
		flags = append(flags, chromedp.Flag(k, v))
	}
	return flags, nil
}

// Close ends the browser (or detaches from a remote one) and waits for
// its processes and profile directory to go.
func (b *Browser) Close() error {
	b.closed.Do(b.close)
	return nil
}

func (b *Browser) close() {
	if b.ctx != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() { chromedp.Cancel(b.ctx); close(done) }()
		select {
		case <-done:
		case <-cctx.Done():
		}
	}
	if b.cancel != nil {
		b.cancel()
	}
	if b.alloc != nil {
		b.alloc() // waits for the process and removes the profile
	}
}

// Alive tells whether the browser still answers.
func (b *Browser) Alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	m, done := merge(b.ctx, ctx)
	defer done()
	_, err := chromedp.Targets(m)
	return err == nil
}

// merge returns a context with base's values (the chromedp target) that
// ends when either ends; call the cancel func when done.
func merge(base, ctx context.Context) (context.Context, context.CancelFunc) {
	m, cancel := context.WithCancelCause(base)
	stopDeadline := context.CancelFunc(func() {})
	if d, ok := ctx.Deadline(); ok {
		m, stopDeadline = context.WithDeadline(m, d)
	}
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	return m, func() { stop(); stopDeadline(); cancel(nil) }
}

// Context is the chromedp context that holds the browser: for programs
// (and benchmarks) that drive it with chromedp directly.
func (b *Browser) Context() context.Context { return b.ctx }

// PID is the browser process's id, or 0 for a remote browser.
func (b *Browser) PID() int {
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return 0
	}
	return c.Browser.Process().Pid
}
