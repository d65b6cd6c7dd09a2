// Package handwritten is flows/login.yaml as a person would write it with
// chromedp by hand: CSS selectors, waits on elements, the test API over
// HTTP for the user and the clock. The benchmarks hold kapu against it
// (on one started browser, and as whole processes with
// internal/handwritten/cmd); it is never used by kapu itself.
package handwritten

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kapu-dev/kapu/otpauth"
	"github.com/kapu-dev/kapu/qr"
	"github.com/kapu-dev/kapu/testapi"
)

// Login enrolls a fresh user of the mock at base through the QR code,
// moves the clock to the next step, logs in with a code and logs out, in
// a new browser context of the browser in bctx.
func Login(bctx context.Context, base string) error {
	api := testapi.New(base)
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	u, err := api.NewUser(ctx)
	if err != nil {
		return err
	}
	click := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)
	}
	credentials := func() error {
		return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#felhasznalonev")),
			chromedp.SendKeys(chromedp.CSS("#felhasznalonev"), u.Username), chromedp.SendKeys(chromedp.CSS("#jelszo"), u.Password),
			click(`button[type=submit]`))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), click(`a[href="/ugyfelkapu"]`)); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := credentials(); err != nil {
		return fmt.Errorf("password login: %w", err)
	}
	if err := chromedp.Do(ctx, click(`form[action="/ugyfelkapu/plusz"] button`),
		click(`form[action="/ugyfelkapu/plusz/osszerendeles"] button`), chromedp.WaitVisible(chromedp.CSS(`img[alt="QR-kód"]`))); err != nil {
		return fmt.Errorf("to the QR: %w", err)
	}
	key, err := scan(ctx)
	if err != nil {
		return err
	}
	code := func() (string, error) {
		now, err := api.Now(ctx)
		if err != nil {
			return "", err
		}
		c, _ := key.Code(now)
		return c, nil
	}
	c, err := code()
	if err != nil {
		return err
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#jelszo"), u.Password), chromedp.SendKeys(chromedp.CSS("#kod"), c),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS("#torlokod")),
		click("#mentve"), click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`a[href="/ugyfelkapu/fiok"]`))); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if err := nextStep(ctx, api); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), click(`a[href="/plusz"]`)); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if err := credentials(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if c, err = code(); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#kod")), chromedp.SendKeys(chromedp.CSS("#kod"), c),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`form[action="/kijelentkezes"]`))); err != nil {
		return fmt.Errorf("code: %w", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || !strings.Contains(title, "Sikeres") {
		return fmt.Errorf("after login: %q %v", title, err)
	}
	if err := chromedp.Do(ctx, click(`form[action="/kijelentkezes"] button`), chromedp.WaitVisible(chromedp.CSS(`a[href="/plusz"]`))); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// scan reads the key from the QR code's pixels, as an authenticator app.
func scan(ctx context.Context) (otpauth.Key, error) {
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`img[alt="QR-kód"]`)))
	if err != nil {
		return otpauth.Key{}, err
	}
	text, err := qr.Decode(png)
	if err != nil {
		return otpauth.Key{}, err
	}
	return otpauth.Parse(text)
}

// nextStep moves the mock's clock to 1 s after the next 30 s boundary:
// the enrollment code's step is spent.
func nextStep(ctx context.Context, api *testapi.Client) error {
	now, err := api.Now(ctx)
	if err != nil {
		return err
	}
	next := now.Truncate(30 * time.Second).Add(31 * time.Second)
	return api.Advance(ctx, next.Sub(now))
}
