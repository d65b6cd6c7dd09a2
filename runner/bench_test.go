package runner_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/flow"
	"github.com/kapu-dev/kapu/internal/handwritten"
	"github.com/kapu-dev/kapu/internal/kaputest"
	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/runner"
)

// BenchmarkFlowVsChromedp runs flows/login.yaml (enrollment through the
// QR, then login and logout) through kapu, and a hand-written chromedp
// program that does the same steps on the same started browser with CSS
// selectors, each on a fresh mock (kapu's is disposable, as the bundled
// one: no teardown), and reports both and their ratio.
func BenchmarkFlowVsChromedp(b *testing.B) {
	br := kaputest.Browser(b)
	flows, err := flow.Load("../flows/login.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var kapuT, handT time.Duration
	for b.Loop() {
		start := time.Now()
		sum, err := runner.Run(context.Background(), flows, mockTargets{disposable: true}, runner.Options{Use: br}, nil)
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

// handWritten is the same flow as a person would write it with chromedp
// (internal/handwritten), on a fresh mock like kapu's bundled one.
func handWritten(br interface{ Context() context.Context }) error {
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: true, Clock: mockidp.FrozenClock(time.Now().UTC())})
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	return handwritten.Login(br.Context(), ts.URL)
}
