package mockidp_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
)

// BenchmarkMockLogin measures full Ügyfélkapu+ logins on loopback: the
// password page (session, CSRF), the password stage and the code stage,
// by many users at once. Each login is a distinct enrolled user, as
// replay protection lets a user in once per step.
func BenchmarkMockLogin(b *testing.B) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	clock := mockidp.FrozenClock(time.Date(2030, 1, 2, 3, 4, 15, 0, time.UTC))
	users := make([]account.Seed, b.N)
	for i := range users {
		users[i] = account.Seed{Username: fmt.Sprintf("u%07d", i), Password: "jelszo-123", Name: "Teszt", Secret: secret}
	}
	srv, err := mockidp.New(mockidp.Options{Clock: clock, Skew: 1, Users: users})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	code := codeAt(b, secret, clock.Now())
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	var next, fails atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			jar, _ := cookiejar.New(nil)
			c := &client{t: b, base: ts.URL, hc: &http.Client{Jar: jar, Transport: tr}}
			c.get("/plusz").post("/plusz", "username", users[i].Username, "password", "jelszo-123")
			c.postRaw("/plusz/kod", url.Values{"csrf": {c.csrf()}, "code": {code}})
			if c.code != http.StatusOK || c.h1() != "Sikeres bejelentkezés" {
				fails.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := fails.Load(); n > 0 {
		b.Fatalf("%d of %d logins failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}
