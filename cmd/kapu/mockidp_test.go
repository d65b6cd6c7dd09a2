package main

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
)

// The test API beyond loopback needs an explicit opt-in, and then warns.
func TestMockIDPRemoteTestAPI(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	code := runMockIDP(context.Background(), []string{"--test-api", "--addr", "0.0.0.0:0", "--quiet"}, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "--allow-remote-test-api") {
		t.Errorf("--test-api on 0.0.0.0: exit %d, %q; want %d and the opt-in named", code, errOut.String(), exitUsage)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var so, se syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMockIDP(ctx, []string{"--test-api", "--allow-remote-test-api", "--addr", "0.0.0.0:0", "--quiet"}, &so, &se)
	}()
	if !waitFor(10*time.Second, func() bool { return strings.Contains(so.String(), "serving") }) {
		t.Fatalf("not serving after 10 s: %s", se.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("stop: exit %d", code)
	}
	if !strings.Contains(se.String(), "anyone who can reach") {
		t.Errorf("no warning about the reachable test API: %q", se.String())
	}
}

// kapu run's bundled mock listens on the address it was given, never on
// all interfaces, also when given a name.
func TestBundledMockListensWhereTold(t *testing.T) {
	t.Parallel()
	name, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	addrs, err := net.LookupHost(name)
	if err != nil || len(addrs) == 0 || slices.Contains(addrs, "127.0.0.3") {
		t.Skipf("hostname %q: %v %v", name, addrs, err)
	}
	tg := &targets{bundled: true, host: name, opts: mockidp.Options{TestAPI: true, Host: name}}
	target, release, err := tg.Target(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	u, _ := url.Parse(target.BaseURL)
	if c, err := net.DialTimeout("tcp", u.Host, 5*time.Second); err != nil {
		t.Fatalf("the mock is not reached on %s: %v", u.Host, err)
	} else {
		c.Close()
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.3", u.Port()), 5*time.Second); err == nil {
		c.Close()
		t.Errorf("--mock-addr %s: the mock also answers on 127.0.0.3: it listens on all interfaces", name)
	}
}
