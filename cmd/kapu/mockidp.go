package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
)

// mockFlags are kapu mockidp's flags.
type mockFlags struct {
	addr, users, publicURL, faults    string
	skew                              int
	testAPI, freeze, quiet, remoteAPI bool
	idp                               idpFlags
}

// idpFlags make the mock an app's identity provider; kapu mockidp and
// kapu run (its bundled mock) share them.
type idpFlags struct {
	samlSPs     []string
	oidcClients []mockidp.OIDCClient
	signingKey  string
}

// define adds the flags to fs.
func (f *idpFlags) define(fs *flag.FlagSet) {
	fs.Func("saml-sp", "register a SAML service provider by its metadata (`FILE or URL`, fetched at first use); repeatable", func(s string) error {
		f.samlSPs = append(f.samlSPs, s)
		return nil
	})
	fs.Func("oidc-client", "register an OpenID Connect client: `ID@REDIRECT_URI` (public: PKCE S256) or ID:SECRET@REDIRECT_URI; repeatable", func(s string) error {
		c, err := mockidp.ParseOIDCClient(s)
		f.oidcClients = append(f.oidcClients, c)
		return err
	})
	fs.StringVar(&f.signingKey, "signing-key", "", "sign assertions and id_tokens with this RSA key (PEM `FILE`, with its certificate or not; default: a new key at each start)")
}

// any tells whether an app was registered.
func (f idpFlags) any() bool { return len(f.samlSPs)+len(f.oidcClients) > 0 }

// apply puts the flags into opts.
func (f idpFlags) apply(opts *mockidp.Options) error {
	opts.SAMLSPs, opts.OIDCClients = f.samlSPs, f.oidcClients
	if f.signingKey != "" {
		s, err := mockidp.LoadSigner(f.signingKey)
		if err != nil {
			return err
		}
		opts.Signer = s
	}
	return nil
}

// printIdP says where an app finds the mock as its identity provider.
func (f idpFlags) printIdP(w io.Writer, base string) {
	if len(f.samlSPs) > 0 {
		fmt.Fprintf(w, "kapu mockidp: SAML metadata at %s/saml/metadata (%d service providers)\n", base, len(f.samlSPs))
	}
	if len(f.oidcClients) > 0 {
		fmt.Fprintf(w, "kapu mockidp: OpenID Connect issuer %s, discovery at %s/.well-known/openid-configuration (%d clients)\n", base, base, len(f.oidcClients))
	}
}

func runMockIDP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, ok, code := parseMockFlags(args, stderr)
	if !ok {
		return code
	}
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: --addr %q: want host:port, e.g. 127.0.0.1:8080\n", f.addr)
		return exitUsage
	}
	if f.testAPI && !isLoopback(host) && !f.remoteAPI {
		fmt.Fprintf(stderr, "kapu mockidp: --test-api on %s would let anyone who reaches it reset users and move the clock; listen on 127.0.0.1, or add --allow-remote-test-api\n", f.addr)
		return exitUsage
	}
	opts, err := mockOptions(f, host, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: %v\n", err)
		return exitUsage
	}
	srv, err := mockidp.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: listen on %s: %v\n", f.addr, err)
		return exitUsage
	}
	if !isLoopback(host) {
		fmt.Fprintf(stderr, "kapu mockidp: warning: listening on %s, beyond this machine\n", host)
		if f.testAPI {
			fmt.Fprintf(stderr, "kapu mockidp: warning: the test API is on: anyone who can reach %s can reset users and move the clock\n", ln.Addr())
		}
	}
	if len(opts.Faults) > 0 {
		fmt.Fprintf(stderr, "kapu mockidp: BROKEN ON PURPOSE: %s\n", opts.Faults)
	}
	fmt.Fprintf(stdout, "kapu mockidp: serving http://%s/ (test API %s)\n", ln.Addr(), onOff(f.testAPI))
	base := "http://" + ln.Addr().String()
	if opts.PublicURL != "" {
		base = opts.PublicURL
	}
	f.idp.printIdP(stdout, strings.TrimRight(base, "/"))
	return serve(ctx, mockidp.HTTPServer(srv), ln, stdout, stderr)
}

// parseMockFlags reads kapu mockidp's flags; ok is false when the command
// should stop with code (--help, or a bad flag already reported).
func parseMockFlags(args []string, stderr io.Writer) (f mockFlags, ok bool, code int) {
	fs := flag.NewFlagSet("kapu mockidp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (loopback by default)")
	fs.BoolVar(&f.testAPI, "test-api", false, "serve the test-control API under /__kapu/")
	fs.IntVar(&f.skew, "skew", 1, "TOTP steps accepted either side of the current one: 0, 1 or 2")
	fs.StringVar(&f.users, "users", "", "seed users from this JSON `file` (see testdata/users.json)")
	fs.BoolVar(&f.freeze, "freeze", false, "start with the IdP clock frozen")
	fs.BoolVar(&f.quiet, "quiet", false, "no request log")
	fs.StringVar(&f.publicURL, "public-url", "", "the `origin` browsers reach the mock on behind a proxy (https://idp.example); https makes cookies Secure")
	fs.BoolVar(&f.remoteAPI, "allow-remote-test-api", false, "let --test-api serve on an address beyond loopback (anyone who reaches it can reset users and move the clock)")
	f.idp.define(fs)
	fs.Func("break", "", func(s string) error { f.faults = s; return nil }) // hidden: fault injection
	fs.Usage = func() {
		flagUsage(stderr, fs, "Usage: kapu mockidp [--addr 127.0.0.1:8080] [--test-api] [--skew N] [--users FILE] [--public-url URL]")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, false, exitOK
		}
		return f, false, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kapu mockidp: unexpected argument %q\n", fs.Arg(0))
		return f, false, exitUsage
	}
	return f, true, exitOK
}

// mockOptions turns the flags into the mock's options.
func mockOptions(f mockFlags, host string, stderr io.Writer) (mockidp.Options, error) {
	opts := mockidp.Options{Skew: f.skew, TestAPI: f.testAPI, PublicURL: f.publicURL, Host: host}
	if err := f.idp.apply(&opts); err != nil {
		return opts, err
	}
	if !f.quiet {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	var err error
	if opts.Faults, err = mockidp.ParseFaults(f.faults); err != nil {
		return opts, fmt.Errorf("--break: %w", err)
	}
	if f.users != "" {
		if opts.Users, err = mockidp.LoadUsers(f.users); err != nil {
			return opts, err
		}
	}
	if f.freeze {
		opts.Clock = mockidp.FrozenClock(time.Now().UTC())
	}
	return opts, nil
}

// serve serves hs on ln until ctx ends (Ctrl-C), then shuts it down.
func serve(ctx context.Context, hs *http.Server, ln net.Listener, stdout, stderr io.Writer) int {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "kapu mockidp: %v\n", err)
		return exitUsage
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	fmt.Fprintln(stdout, "kapu mockidp: stopped")
	return exitOK
}

// isLoopback tells whether host names only this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
