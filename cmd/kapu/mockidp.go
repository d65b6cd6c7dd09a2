package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
)

func runMockIDP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kapu mockidp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	testAPI := fs.Bool("test-api", false, "serve the test-control API under /__kapu/")
	skew := fs.Int("skew", 1, "TOTP steps accepted either side of the current one: 0, 1 or 2")
	users := fs.String("users", "", "seed users from this JSON `file` (see testdata/users.json)")
	freeze := fs.Bool("freeze", false, "start with the IdP clock frozen")
	quiet := fs.Bool("quiet", false, "no request log")
	publicURL := fs.String("public-url", "", "the `origin` browsers reach the mock on behind a proxy (https://idp.example); https makes cookies Secure")
	remoteAPI := fs.Bool("allow-remote-test-api", false, "let --test-api serve on an address beyond loopback (anyone who reaches it can reset users and move the clock)")
	var faults string
	fs.Func("break", "", func(s string) error { faults = s; return nil }) // hidden: fault injection
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: kapu mockidp [--addr 127.0.0.1:8080] [--test-api] [--skew N] [--users FILE]")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "break" {
				return
			}
			name, use := flag.UnquoteUsage(f)
			fmt.Fprintf(stderr, "  --%s %s\n    \t%s (default %q)\n", f.Name, name, use, f.DefValue)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kapu mockidp: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: --addr %q: want host:port, e.g. 127.0.0.1:8080\n", *addr)
		return exitUsage
	}
	loopback := isLoopback(host)
	if *testAPI && !loopback && !*remoteAPI {
		fmt.Fprintf(stderr, "kapu mockidp: --test-api on %s would let anyone who reaches it reset users and move the clock; listen on 127.0.0.1, or add --allow-remote-test-api\n", *addr)
		return exitUsage
	}
	opts := mockidp.Options{Skew: *skew, TestAPI: *testAPI, PublicURL: *publicURL, Host: host}
	if !*quiet {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if opts.Faults, err = account.ParseFaults(faults, mockidp.Faults()); err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: --break: %v\n", err)
		return exitUsage
	}
	if *users != "" {
		if opts.Users, err = mockidp.LoadUsers(*users); err != nil {
			fmt.Fprintf(stderr, "kapu mockidp: %v\n", err)
			return exitUsage
		}
	}
	if *freeze {
		opts.Clock = mockidp.FrozenClock(time.Now().UTC())
	}
	srv, err := mockidp.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "kapu mockidp: listen on %s: %v\n", *addr, err)
		return exitUsage
	}
	if !loopback {
		fmt.Fprintf(stderr, "kapu mockidp: warning: listening on %s, beyond this machine\n", host)
		if *testAPI {
			fmt.Fprintf(stderr, "kapu mockidp: warning: the test API is on: anyone who can reach %s can reset users and move the clock\n", ln.Addr())
		}
	}
	if len(opts.Faults) > 0 {
		fmt.Fprintf(stderr, "kapu mockidp: BROKEN ON PURPOSE: %s\n", strings.Join(faultNames(opts.Faults), ", "))
	}
	fmt.Fprintf(stdout, "kapu mockidp: serving http://%s/ (test API %s)\n", ln.Addr(), onOff(*testAPI))
	hs := mockidp.HTTPServer(srv)
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

func faultNames(fs account.Faults) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
