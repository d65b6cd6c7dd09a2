package main

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestExampleApp runs README's "Testing your app's login" as a user does:
// the example relying party (examples/rp, its own process, gosaml2 and
// go-oidc) configured with the mock's fixed address, and kapu run with
// the bundled mock at that address, the app registered by --saml-sp (a
// URL, read at first use) and --oidc-client. Every method over both
// protocols logs in to the app in Chromium.
func TestExampleApp(t *testing.T) {
	needChromium(t)
	rp := filepath.Join(t.TempDir(), "rp")
	if out, err := exec.Command("go", "build", "-o", rp, "../../examples/rp").CombinedOutput(); err != nil {
		t.Fatalf("build examples/rp: %v\n%s", err, out)
	}
	appAddr, mockAddr := freeAddr(t), freeAddr(t)
	app := "http://" + appAddr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, rp, "--addr", appAddr, "--idp", "http://"+mockAddr, "--client-secret", "rp-titok")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	if !waitFor(10*time.Second, func() bool { return get(app+"/") == nil }) {
		t.Fatal("the example app did not start")
	}
	stdout, stderr, code := kapu(t, []string{"RP_URL=" + app}, "run", "--workers", "2",
		"--mock-addr", mockAddr, "--saml-sp", app+"/saml/metadata", "--oidc-client", "rp:rp-titok@"+app+"/oidc/callback",
		"examples/rp/flows")
	if code != 0 || !strings.Contains(stdout, "8 passed, 0 failed") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"SAML metadata at http://" + mockAddr + "/saml/metadata", "OpenID Connect issuer http://" + mockAddr + ","} {
		if !strings.Contains(stdout, want) {
			t.Errorf("kapu run does not say %q:\n%s", want, stdout)
		}
	}
}

// Registering an app needs a fixed mock address, and does not go with
// --base-url: both are said before any browser starts.
func TestAppFlagsNeedAFixedMock(t *testing.T) {
	for args, want := range map[string]string{
		"run --oidc-client a@http://127.0.0.1:1/cb flows/start-page.yaml":                          "need --mock-addr HOST:PORT",
		"run --saml-sp x.xml --base-url http://127.0.0.1:1 flows/start-page.yaml":                  "do not go with --base-url",
		"run --oidc-client a:@http://127.0.0.1:1/cb --mock-addr 127.0.0.1:0 flows/start-page.yaml": "the secret after : is empty",
		"run --signing-key /nincs/ilyen.pem --mock-addr 127.0.0.1:0 flows/start-page.yaml":         "--signing-key",
		"mockidp --oidc-client a@ftp://x/cb":                                                       "want an absolute http(s) URL",
		"mockidp --oidc-client a@http://127.0.0.1:1/cb --oidc-client a@http://127.0.0.1:1/cb":      "given twice",
	} {
		_, stderr, code := kapu(t, nil, strings.Fields(args)...)
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("kapu %s: exit %d, stderr %q, want 2 and %q", args, code, stderr, want)
		}
	}
}
