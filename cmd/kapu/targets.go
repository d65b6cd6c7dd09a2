package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/clock"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/runner"
	"github.com/kapu-dev/kapu/testapi"
)

// targets gives each flow its target: with the bundled mock, a fresh
// in-process mock per flow so that parallel flows never move each other's
// clock; with --base-url, the one deployment.
type targets struct {
	base    string
	bundled bool
	opts    mockidp.Options
	host    string
	api     *testapi.Client
}

func newTargets(ctx context.Context, f runFlags, stderr io.Writer) (*targets, error) {
	t := &targets{host: f.mockAddr}
	if f.baseURL == "" {
		t.bundled = true
		faults, err := mockidp.ParseFaults(f.faults)
		if err != nil {
			return nil, fmt.Errorf("--break: %w", err)
		}
		t.opts = mockidp.Options{Skew: f.skew, TestAPI: true, Faults: faults, Host: f.mockAddr}
		if f.users != "" {
			users, err := mockidp.LoadUsers(f.users)
			if err != nil && !(errors.Is(err, os.ErrNotExist) && f.users == "testdata/users.json") {
				return nil, err
			}
			t.opts.Users = users
		}
		if _, err := mockidp.New(t.opts); err != nil {
			return nil, err
		}
		return t, nil
	}
	if !strings.HasPrefix(f.baseURL, "http://") && !strings.HasPrefix(f.baseURL, "https://") {
		return nil, fmt.Errorf("--base-url %q: want http:// or https://", f.baseURL)
	}
	t.base = strings.TrimRight(f.baseURL, "/")
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, t.base+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("target %s is unreachable: %w", t.base, err)
	}
	res.Body.Close()
	api := testapi.New(t.base)
	if ok, _ := api.Probe(pctx); ok {
		t.api = api
	} else {
		fmt.Fprintf(stderr, "kapu: %s has no test API: real 30 s waits, users from KAPU_USERNAME/KAPU_PASSWORD/KAPU_NAME\n", t.base)
	}
	return t, nil
}

func (t *targets) describe() string {
	if t.bundled {
		return "the bundled mock (one per flow, test API on, frozen clock)"
	}
	if t.api != nil {
		return t.base + " (test API)"
	}
	return t.base + " (no test API: wall clock)"
}

type apiUsers struct{ c *testapi.Client }

func (u apiUsers) NewUser(ctx context.Context) (runner.User, error) {
	x, err := u.c.NewUser(ctx)
	return runner.User{Username: x.Username, Password: x.Password, Name: x.Name}, err
}

// Target implements runner.Targets.
func (t *targets) Target(ctx context.Context, _ *flow.Flow) (runner.Target, func(), error) {
	if !t.bundled {
		if t.api != nil {
			return runner.Target{BaseURL: t.base, Clock: t.api, Users: apiUsers{t.api}, TestAPI: true, Shared: true}, func() {}, nil
		}
		return runner.Target{BaseURL: t.base, Clock: clock.Wall{}, Real: true, Shared: true}, func() {}, nil
	}
	opts := t.opts
	opts.Clock = mockidp.FrozenClock(time.Now().UTC())
	srv, err := mockidp.New(opts)
	if err != nil {
		return runner.Target{}, nil, err
	}
	// Only on the address given, never on all interfaces: a name is
	// resolved and its address listened on.
	ln, err := net.Listen("tcp", net.JoinHostPort(t.host, "0"))
	if err != nil {
		return runner.Target{}, nil, fmt.Errorf("start the bundled mock on %s: %w", t.host, err)
	}
	hs := mockidp.HTTPServer(srv)
	go hs.Serve(ln)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://" + net.JoinHostPort(t.host, port)
	api := testapi.New(base)
	release := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}
	return runner.Target{BaseURL: base, Clock: api, Users: apiUsers{api}, TestAPI: true}, release, nil
}
