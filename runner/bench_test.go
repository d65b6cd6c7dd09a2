package runner_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/internal/kaputest"
	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
	"github.com/kapu-dev/kapu/otpauth"
	"github.com/kapu-dev/kapu/qr"
	"github.com/kapu-dev/kapu/runner"
)

// BenchmarkFlowVsChromedp runs flows/login.yaml (enrollment through the
// QR, then login) through kapu, and a hand-written chromedp program that
// does the same steps on the same started browser with CSS selectors, and
// reports both and their ratio.
func BenchmarkFlowVsChromedp(b *testing.B) {
	br := kaputest.Browser(b)
	flows, err := flow.Load("../flows/login.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var kapuT, handT time.Duration
	for b.Loop() {
		start := time.Now()
		sum, err := runner.Run(context.Background(), flows, mockTargets{}, runner.Options{Use: br}, nil)
		if err != nil || sum.Passed != 1 {
			b.Fatalf("kapu: %v %+v", err, sum.Results[0])
		}
		kapuT += time.Since(start)
		start = time.Now()
		if err := handWritten(br); err != nil {
			b.Fatal(err)
		}
		handT += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(kapuT.Seconds()*1000/n, "kapu-ms/flow")
	b.ReportMetric(handT.Seconds()*1000/n, "chromedp-ms/flow")
	b.ReportMetric(kapuT.Seconds()/handT.Seconds(), "kapu/chromedp")
}

// handWritten is the same flow as a person would write it with chromedp:
// a fresh mock and browser context, CSS selectors, waits on elements.
func handWritten(br interface{ Context() context.Context }) error {
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: true, Clock: mockidp.FrozenClock(time.Now().UTC())})
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	u := "bench-user"
	srv.Store().Add(mockidpSeed(u))
	ctx, cancel := chromedp.NewContext(br.Context(), chromedp.WithNewBrowserContext())
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	click := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)
	}
	login := func(code string) error {
		return chromedp.Do(ctx,
			chromedp.Navigate(ts.URL+"/"), click(`a[href="/plusz"]`),
			chromedp.SendKeys(chromedp.CSS("#felhasznalonev"), u), chromedp.SendKeys(chromedp.CSS("#jelszo"), "jelszo-123"),
			click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS("#kod")),
			chromedp.SendKeys(chromedp.CSS("#kod"), code), click(`button[type=submit]`),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/kijelentkezes"]`)))
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"), click(`a[href="/ugyfelkapu"]`),
		chromedp.SendKeys(chromedp.CSS("#felhasznalonev"), u), chromedp.SendKeys(chromedp.CSS("#jelszo"), "jelszo-123"),
		click(`button[type=submit]`), click(`form[action="/ugyfelkapu/plusz"] button`),
		click(`form[action="/ugyfelkapu/plusz/osszerendeles"] button`), chromedp.WaitVisible(chromedp.CSS(`img[alt="QR-kód"]`))); err != nil {
		return fmt.Errorf("to the QR: %w", err)
	}
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`img[alt="QR-kód"]`)))
	if err != nil {
		return err
	}
	text, err := qr.Decode(png)
	if err != nil {
		return err
	}
	key, err := otpauth.Parse(text)
	if err != nil {
		return err
	}
	code, _ := key.Code(srv.Clock().Now())
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#jelszo"), "jelszo-123"), chromedp.SendKeys(chromedp.CSS("#kod"), code),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS("#torlokod")),
		click("#mentve"), click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`a[href="/ugyfelkapu/fiok"]`))); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	srv.Clock().Advance(30 * time.Second)
	code, _ = key.Code(srv.Clock().Now())
	if err := login(code); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || !strings.Contains(title, "Sikeres") {
		return fmt.Errorf("after login: %q %v", title, err)
	}
	return nil
}

func mockidpSeed(u string) account.Seed {
	return account.Seed{Username: u, Password: "jelszo-123", Name: "Teszt Elek"}
}
