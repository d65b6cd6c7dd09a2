package browser_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/browser"
	"github.com/kapu-dev/kapu/internal/kaputest"
	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
	"github.com/kapu-dev/kapu/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestMain(m *testing.M) { kaputest.Main(m) }

func name(roles ...string) func(string) browser.Locator {
	return func(n string) browser.Locator {
		return browser.Locator{By: browser.ByRole, Roles: roles, Name: n, Exact: true}
	}
}

var (
	clickable = name("button", "link")
	field     = func(n string) browser.Locator { return browser.Locator{By: browser.ByLabel, Name: n, Exact: true} }
)

func stepCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestEnrollInChromium walks the whole enrollment of SPEC §1.3 in real
// Chromium against the real mock: the QR is decoded from a screenshot and
// must carry the same URI as the link and the same secret as the manual key.
func TestEnrollInChromium(t *testing.T) {
	t.Parallel()
	srv, base := kaputest.Mock(t, mockidp.Options{Skew: 1})
	if err := srv.Store().Add(account.Seed{Username: "anna", Password: "titok-123", Name: "Kovács Anna"}); err != nil {
		t.Fatal(err)
	}
	tab := kaputest.Tab(t)
	ctx := stepCtx(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := tab.Open(ctx, base+"/")
	must(err)
	// Exact names: "Ügyfélkapu" must not find "Ügyfélkapu+".
	must(tab.Click(ctx, clickable("Ügyfélkapu")))
	must(tab.Fill(ctx, field("Felhasználónév"), "anna"))
	must(tab.Fill(ctx, field("Jelszó"), "titok-123"))
	must(tab.Click(ctx, clickable("Bejelentkezés")))
	must(tab.Click(ctx, clickable("Ügyfélkapu+ igénylése")))
	must(tab.Click(ctx, clickable("Tovább az Ügyfélkapu+ igényléshez")))

	png, err := tab.ElementScreenshot(ctx, name("image", "img")("QR-kód"))
	must(err)
	fromQR, err := qr.Decode(png)
	must(err)
	link, err := tab.Read(ctx, name("link")("Megnyitás a hitelesítő alkalmazásban"), "href")
	must(err)
	manual, err := tab.Read(ctx, browser.Locator{By: browser.ByRole, Name: "Kulcs kézi megadáshoz", Exact: true}, "")
	must(err)
	if fromQR != link {
		t.Errorf("QR %q != link %q", fromQR, link)
	}
	u, err := url.Parse(fromQR)
	must(err)
	secret := u.Query().Get("secret")
	if strings.ReplaceAll(manual, " ", "") != secret {
		t.Errorf("manual key %q != QR secret %q", manual, secret)
	}
	now := srv.Clock().Now()
	code, err := totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	must(err)
	must(tab.Fill(ctx, field("Jelszó"), "titok-123"))
	must(tab.Fill(ctx, field("6 jegyű kód"), code))
	must(tab.Click(ctx, clickable("Tovább")))
	rc, err := tab.Read(ctx, browser.Locator{By: browser.ByRole, Name: "Törlőkód", Exact: true}, "")
	must(err)
	if len(strings.ReplaceAll(rc, " ", "")) != 16 {
		t.Errorf("törlőkód %q", rc)
	}
	must(tab.Click(ctx, clickable("Befejezés")))
	alerts, err := tab.Alerts(ctx)
	must(err)
	if len(alerts) != 1 || alerts[0] != "Kérjük, erősítse meg, hogy a törlőkódot elmentette." {
		t.Errorf("alerts %q", alerts)
	}
	must(tab.SetChecked(ctx, name("checkbox")("A fenti törlőkód mentéséről gondoskodtam"), true))
	must(tab.Click(ctx, clickable("Befejezés")))
	hs, err := tab.Headings(ctx)
	must(err)
	if len(hs) == 0 || hs[0] != "Az Ügyfélkapu+ megrendelése sikeresen megtörtént!" {
		t.Errorf("headings %q", hs)
	}

	// Log in with the next step's code (the enrollment step is spent).
	srv.Clock().Advance(30 * time.Second)
	_, err = tab.Open(ctx, base+"/")
	must(err)
	must(tab.Click(ctx, clickable("Ügyfélkapu+")))
	must(tab.Fill(ctx, field("Felhasználónév"), "anna"))
	must(tab.Fill(ctx, field("Jelszó"), "titok-123"))
	must(tab.Click(ctx, clickable("Bejelentkezés")))
	code, _ = totp.GenerateCodeCustom(secret, srv.Clock().Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	must(tab.Fill(ctx, field("6 jegyű kód"), code))
	must(tab.Click(ctx, clickable("Bejelentkezés")))
	text, err := tab.Text(ctx)
	must(err)
	if !strings.Contains(text, "Sikeres bejelentkezés") || !strings.Contains(text, "Kovács Anna") {
		t.Errorf("after login: %q", text)
	}
}

func TestNotFoundSaysWhatIsThere(t *testing.T) {
	t.Parallel()
	_, base := kaputest.Mock(t, mockidp.Options{Skew: 1})
	tab := kaputest.Tab(t)
	ctx := stepCtx(t)
	if _, err := tab.Open(ctx, base+"/"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := tab.Click(short, clickable("Ügyfélkapu++"))
	var nf *browser.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), `link "Ügyfélkapu+"`) {
		t.Errorf("got %v, want a NotFoundError naming link \"Ügyfélkapu+\"", err)
	}
	// Hidden nodes never match: the disclosure's list is hidden.
	short2, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if err := tab.Click(short2, clickable("eSzemélyi igazolvány")); err == nil {
		t.Error("clicked a hidden link")
	}
	if err := tab.Click(ctx, name("button")("További azonosítási módok")); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Wait(ctx, clickable("eSzemélyi igazolvány")); err != nil {
		t.Errorf("after the disclosure opened: %v", err)
	}
}

// TestManyMatchesListCandidates: a locator that finds more than one
// element is an error that lists them.
func TestManyMatchesListCandidates(t *testing.T) {
	t.Parallel()
	_, base := kaputest.Mock(t, mockidp.Options{Skew: 1})
	tab := kaputest.Tab(t)
	ctx := stepCtx(t)
	if _, err := tab.Open(ctx, base+"/"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := tab.Click(short, browser.Locator{By: browser.ByRole, Roles: []string{"link"}, Name: "Ügyfélkapu", Exact: false})
	var nf *browser.NotFoundError
	if !errors.As(err, &nf) || len(nf.Many) < 2 || !strings.Contains(err.Error(), `link "Ügyfélkapu+"`) || !strings.Contains(err.Error(), `link "Ügyfélkapu"`) {
		t.Errorf("got %v, want an error listing the matching links", err)
	}
}
