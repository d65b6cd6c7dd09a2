// Package kaputest gives tests the real things: the mock IdP on loopback
// and one shared Chromium per test binary, with a browser context per test.
package kaputest

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/mockidp"
)

var (
	once    sync.Once
	shared  *browser.Browser
	openErr error
)

// Main runs the tests and closes the shared browser: use it as TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Close()
	os.Exit(code)
}

// Close closes the shared browser, for a TestMain that does more than Main.
func Close() {
	if shared != nil {
		shared.Close()
	}
}

// Browser returns the test binary's one Chromium. Without Chromium the
// test is skipped, or fails when CI is set.
func Browser(t testing.TB) *browser.Browser {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		shared, openErr = browser.Start(ctx, browser.Options{})
	})
	if openErr != nil {
		if errors.Is(openErr, browser.ErrNoChromium) && os.Getenv("CI") == "" {
			t.Skip(openErr)
		}
		t.Fatal(openErr)
	}
	return shared
}

// Tab opens a tab in its own browser context, closed when the test ends.
func Tab(t testing.TB) *browser.Tab {
	t.Helper()
	b := Browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tab, err := b.NewTab(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tab.Close)
	return tab
}

// Mock serves a mock IdP (test API on, frozen clock unless given; set
// Skew yourself, 0 is a valid skew) on
// 127.0.0.1 for the test's life.
func Mock(t testing.TB, opts mockidp.Options) (*mockidp.Server, string) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = mockidp.FrozenClock(time.Date(2030, 1, 2, 3, 4, 15, 0, time.UTC))
	}
	opts.TestAPI = true
	srv, err := mockidp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL
}
