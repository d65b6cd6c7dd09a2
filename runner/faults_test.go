package runner_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/internal/kaputest"
	"github.com/kapu-dev/kapu/internal/poll"
	"github.com/kapu-dev/kapu/runner"
)

// funcTargets serves each flow with a handler of the test's choice.
type funcTargets func(f *flow.Flow) http.Handler

func (ft funcTargets) Target(ctx context.Context, f *flow.Flow) (runner.Target, func(), error) {
	ts := httptest.NewServer(ft(f))
	return runner.Target{BaseURL: ts.URL}, func() { ts.CloseClientConnections(); ts.Close() }, nil
}

const okPage = `<!doctype html><html lang="hu"><title>x</title><h1>rendben</h1><a href="/tovabb">Tovább</a></html>`

// TestTargetGoesAway: the target dies in the middle of a flow; that flow
// fails with a clear reason and the next one still runs.
func TestTargetGoesAway(t *testing.T) {
	t.Parallel()
	flows := load(t, "testdata/two-pages.yaml", "testdata/flaky.yaml")
	var mu sync.Mutex
	servers := map[string]*httptest.Server{}
	targets := targetsFunc(func(f *flow.Flow) (runner.Target, func(), error) {
		var ts *httptest.Server
		ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/tovabb" && f.Name == "két oldal" {
				go ts.CloseClientConnections()
				go ts.Close() // the target goes away mid-flow
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
			w.Write([]byte(okPage))
		}))
		mu.Lock()
		servers[f.Name] = ts
		mu.Unlock()
		return runner.Target{BaseURL: ts.URL}, func() {}, nil
	})
	sum, _ := collect(t, flows, targets, runner.Options{Workers: 1})
	r0, r1 := sum.Results[0], sum.Results[1]
	if r0.Status != runner.Failed || !strings.Contains(r0.Err, "two-pages.yaml") {
		t.Errorf("flow whose target went away: %s %q", r0.Status, r0.Err)
	}
	if r1.Status != runner.Passed {
		t.Errorf("the next flow: %s %q, want passed", r1.Status, r1.Err)
	}
	for _, ts := range servers {
		ts.Close()
	}
}

type targetsFunc func(f *flow.Flow) (runner.Target, func(), error)

func (tf targetsFunc) Target(ctx context.Context, f *flow.Flow) (runner.Target, func(), error) {
	return tf(f)
}

// TestPageNeverLoads: a page that never finishes loading fails its step
// at the step's timeout, with what was being done.
func TestPageNeverLoads(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	defer close(block)
	targets := funcTargets(func(f *flow.Flow) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		})
	})
	sum, _ := collect(t, load(t, "testdata/hang.yaml"), targets, runner.Options{})
	r := sum.Results[0]
	if r.Status != runner.Failed || !strings.Contains(r.Err, "timed out after 1s") || !strings.Contains(r.Err, "open") {
		t.Errorf("got %s %q, want a timeout of the open step", r.Status, r.Err)
	}
}

// TestBrowserCrash: the browser is killed during a flow; the flow fails
// saying so, and a new browser runs the next flow.
func TestBrowserCrash(t *testing.T) {
	t.Parallel()
	flows := load(t, "testdata/slow-page.yaml", "testdata/flaky.yaml")
	kaputest.Browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := browser.Start(ctx, browser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pid := b.PID()
	n := 0
	targets := funcTargets(func(f *flow.Flow) http.Handler {
		n++
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f.Name == "lassú oldal" && r.URL.Path == "/lassu" {
				syscall.Kill(pid, syscall.SIGKILL) // the browser crashes
				gone(pid)                          // before the page answers
			}
			w.Write([]byte(okPage))
		})
	})
	sum, err := runner.Run(ctx, flows, targets, runner.Options{Use: b, Workers: 1, Retries: 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := sum.Results[0], sum.Results[1]
	if r0.Status != runner.Failed || !strings.Contains(r0.Err, "crashed") {
		t.Errorf("flow in the crashed browser: %s %q, want a failure naming the crash", r0.Status, r0.Err)
	}
	if r1.Status == runner.Failed && strings.Contains(r1.Err, "crash") {
		t.Errorf("the next flow did not get a new browser: %q", r1.Err)
	}
}

// gone waits (at most 10 s) until the process pid is dead: no more, or a
// zombie waiting for its parent.
func gone(pid int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	poll.Until(ctx, poll.Load, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// The state follows the command name in parentheses.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
	})
}
