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
	scopes  bool   // the test API offers a clock per flow
	close   func() // stops the one mock of --mock-addr HOST:PORT
}

func newTargets(ctx context.Context, f runFlags, stdout, stderr io.Writer) (*targets, error) {
	t := &targets{host: f.mockAddr, close: func() {}}
	if f.baseURL != "" {
		if f.idp.any() || f.idp.signingKey != "" {
			return nil, errors.New("--saml-sp, --oidc-client and --signing-key configure the bundled mock: they do not go with --base-url")
		}
		return t, t.probe(ctx, f.baseURL, stderr)
	}
	opts, err := bundledOptions(f)
	if err != nil {
		return nil, err
	}
	if host, port, err := net.SplitHostPort(f.mockAddr); err == nil {
		// One mock at a fixed address, for an app configured with it: a
		// shared target, like a --base-url one with the test API.
		opts.Host = host
		return t, t.startShared(ctx, opts, net.JoinHostPort(host, port), f.idp, stdout)
	}
	if f.idp.any() {
		return nil, errors.New("--saml-sp and --oidc-client need --mock-addr HOST:PORT: the app must know where its identity provider is (the bundled mock otherwise gets a new port per flow)")
	}
	t.bundled, t.opts = true, opts
	return t, nil
}

// bundledOptions are the bundled mock's options from kapu run's flags.
func bundledOptions(f runFlags) (mockidp.Options, error) {
	faults, err := mockidp.ParseFaults(f.faults)
	if err != nil {
		return mockidp.Options{}, fmt.Errorf("--break: %w", err)
	}
	opts := mockidp.Options{Skew: f.skew, TestAPI: true, Faults: faults, Host: f.mockAddr}
	if f.users != "" {
		users, err := mockidp.LoadUsers(f.users)
		if err != nil && !(errors.Is(err, os.ErrNotExist) && f.users == "testdata/users.json") {
			return opts, err
		}
		opts.Users = users
	}
	if err := f.idp.apply(&opts); err != nil {
		return opts, err
	}
	_, err = mockidp.New(opts) // the options' errors before any browser
	return opts, err
}

// startShared serves one mock on addr for the whole run.
func (t *targets) startShared(ctx context.Context, opts mockidp.Options, addr string, idp idpFlags, stdout io.Writer) error {
	if !isLoopback(opts.Host) {
		return fmt.Errorf("--mock-addr %s: the bundled mock has the test API on: listen on a loopback address (kapu mockidp --allow-remote-test-api is for the rest)", addr)
	}
	srv, err := mockidp.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("start the bundled mock on %s: %w", addr, err)
	}
	hs := mockidp.HTTPServer(srv)
	go hs.Serve(ln)
	t.close = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}
	t.base = "http://" + addr
	t.api, t.scopes = testapi.New(t.base), true
	idp.printIdP(stdout, t.base)
	return nil
}

// probe finds out whether the --base-url deployment is there and has the
// test API.
func (t *targets) probe(ctx context.Context, baseURL string, stderr io.Writer) error {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return fmt.Errorf("--base-url %q: want http:// or https://", baseURL)
	}
	t.base = strings.TrimRight(baseURL, "/")
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, t.base+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("target %s is unreachable: %w", t.base, err)
	}
	res.Body.Close()
	api := testapi.New(t.base)
	if ok, _ := api.Probe(pctx); ok {
		t.api, t.scopes = api, api.Scopes(pctx)
	} else {
		fmt.Fprintf(stderr, "kapu: %s has no test API: clock moves are real waits; accounts from --users FILE, KAPU_USERS or KAPU_USERNAME/KAPU_PASSWORD/KAPU_NAME\n", t.base)
	}
	return nil
}

func (t *targets) describe() string {
	if t.bundled {
		return "the bundled mock (one per flow, test API on, frozen clock)"
	}
	if t.api != nil && t.scopes {
		return t.base + " (test API, a clock per flow)"
	}
	if t.api != nil {
		return t.base + " (test API, one shared clock)"
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
			target := runner.Target{BaseURL: t.base, Clock: t.api, Users: apiUsers{t.api}, TestAPI: true, Shared: true}
			if t.scopes {
				target.Scope = func(name string) runner.Clock { return t.api.Scoped(name) }
				target.ScopeCookie = testapi.ScopeCookie
			}
			return target, func() {}, nil
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
	return runner.Target{BaseURL: base, Clock: api, Users: apiUsers{api}, TestAPI: true, Disposable: true}, release, nil
}
