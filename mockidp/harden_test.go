package mockidp_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kapu-dev/kapu/mockidp"
)

// Session fixation: every change of authentication gives a new cookie (and
// CSRF token), and a cookie captured before it gives nothing after it.
func TestSessionFixation(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})

	t.Run("Ügyfélkapu login", func(t *testing.T) {
		u := m.newUser(t)
		c := m.client(t)
		c.get("/ugyfelkapu")
		before, csrf := c.cookie(), c.csrf()
		c.post("/ugyfelkapu", "username", u.Username, "password", u.Password)
		c.wantH1("Üdvözöljük, " + u.Name + "!")
		if c.cookie() == before || c.csrf() == csrf {
			t.Errorf("login kept the cookie (%v) or the CSRF token (%v)", c.cookie() == before, c.csrf() == csrf)
		}
		m.as(t, before).get("/ugyfelkapu/fiok").wantH1("Bejelentkezés Ügyfélkapuval")
	})

	t.Run("Ügyfélkapu+ code", func(t *testing.T) {
		u := m.newUser(t)
		secret, _ := m.enroll(t, u)
		c := m.login(t, u)
		before, csrf := c.cookie(), c.csrf()
		c.post("/plusz/kod", "code", codeAt(t, secret, m.srv.Clock().Now()))
		c.wantH1("Sikeres bejelentkezés")
		if c.cookie() == before || c.csrf() == csrf {
			t.Errorf("the code kept the cookie (%v) or the CSRF token (%v)", c.cookie() == before, c.csrf() == csrf)
		}
		old := m.as(t, before).get("/plusz/sikeres")
		if old.h1() == "Sikeres bejelentkezés" || strings.Contains(old.page, u.Name) {
			t.Errorf("the cookie from before the code reaches the success page")
		}
	})

	t.Run("DÁP approval", func(t *testing.T) {
		u := m.newUser(t)
		desk, phone := m.client(t), m.client(t)
		p := dapURL(t, desk)
		before := desk.cookie()
		phone.get(p).post(p, "username", u.Username, "password", u.Password)
		desk.get("/dap/allapot").wantH1("Sikeres bejelentkezés")
		if desk.cookie() == before {
			t.Error("the DÁP login kept the cookie")
		}
		if m.as(t, before).get("/plusz/sikeres").h1() == "Sikeres bejelentkezés" {
			t.Error("the cookie from before the approval reaches the success page")
		}
	})

	t.Run("logout", func(t *testing.T) {
		u := m.newUser(t)
		c := m.client(t)
		c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
		in, csrf := c.cookie(), c.csrf()
		c.post("/kijelentkezes")
		c.wantH1("Bejelentkezés")
		if c.cookie() == in || c.csrf() == csrf {
			t.Errorf("logout kept the cookie (%v) or the CSRF token (%v)", c.cookie() == in, c.csrf() == csrf)
		}
		m.as(t, in).get("/ugyfelkapu/fiok").wantH1("Bejelentkezés Ügyfélkapuval")
	})
}

// Ending Ügyfélkapu+ with the törlőkód logs the user's Ügyfélkapu+
// sessions out everywhere.
func TestRevokeEndsSessions(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	u := m.newUser(t)
	secret, recovery := m.enroll(t, u)
	other := m.login(t, u)
	other.post("/plusz/kod", "code", codeAt(t, secret, m.srv.Clock().Now()))
	other.wantH1("Sikeres bejelentkezés")

	c := m.client(t)
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	c.get("/ugyfelkapu/megszuntetes").post("/ugyfelkapu/megszuntetes", "recovery", recovery)
	c.wantText("Az Ügyfélkapu+ szolgáltatás megszűnt.")

	other.get("/plusz/sikeres")
	if other.h1() == "Sikeres bejelentkezés" {
		t.Error("another browser is still logged in with Ügyfélkapu+ after the törlőkód ended it")
	}
}

// The code stage logs in the user whose code it checked, and no other:
// a second password stage in the same session between the check and the
// login makes the code refused.
func TestCodeStageOneUser(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	a, b := m.newUser(t), m.newUser(t)
	secretA, _ := m.enroll(t, a)
	m.enroll(t, b)

	tab1 := m.login(t, a)
	tab2 := m.as(t, tab1.cookie()) // the same browser's second tab
	checked, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.srv.SetAfterCodeCheck(func() {
		once.Do(func() {
			close(checked)
			<-resume
		})
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tab1.post("/plusz/kod", "code", codeAt(t, secretA, m.srv.Clock().Now()))
	}()
	<-checked
	tab2.get("/plusz").post("/plusz", "username", b.Username, "password", b.Password)
	close(resume)
	<-done
	if tab1.h1() == "Sikeres bejelentkezés" {
		t.Errorf("A's code logged the session in after B's password stage: %q", tab1.page)
	}
	tab1.wantAlert("Hibás vagy lejárt kód.")
	for _, c := range []*client{tab1, tab2} {
		if c.get("/plusz/sikeres"); c.h1() == "Sikeres bejelentkezés" {
			t.Errorf("a session is logged in with Ügyfélkapu+ without its user's code")
		}
	}
}

// The enrollment success page shows only right after Befejezés.
func TestEnrolledPageNeedsTheDeed(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	const done = "Az Ügyfélkapu+ megrendelése sikeresen megtörtént!"
	u := m.newUser(t)
	c := m.client(t)
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	if c.get("/ugyfelkapu/plusz/kesz"); c.h1() == done || strings.Contains(c.page, "sikeresen megtörtént") {
		t.Error("a user who never enrolled reaches the enrollment success page by URL")
	}
	m.enrollAt(t, u) // ends on the success page (enrollAt checks it)
	c.get("/ugyfelkapu/plusz/kesz")
	if c.h1() == done {
		t.Error("the success page shows again by URL, in another session")
	}
}

// Only loopback names, the address the mock was given and its public URL
// reach the test API; its own origin may call it.
func TestTestAPIHosts(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Host: "kapu.test", PublicURL: "https://idp.example"})
	tests := []struct {
		host, origin string
		want         int
	}{
		{"", "", 200},
		{"localhost:1234", "", 200},
		{"app.localhost", "", 200},
		{"[::1]:80", "", 200},
		{"127.0.0.2", "", 200},
		{"kapu.test:8080", "", 200},
		{"idp.example", "", 200},
		{"", m.URL, 200},
		{"idp.example", "https://idp.example", 200},
		{"kapu.test.evil.example", "", 403},
		{"192.168.1.10:8080", "", 403},
		{"", "http://localhost:1", 403},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", m.URL+"/__kapu/clock", nil)
		if tt.host != "" {
			req.Host = tt.host
		}
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("Host %q Origin %q: %d, want %d", tt.host, tt.origin, res.StatusCode, tt.want)
		}
	}
}

// Behind a proxy the public URL, not the Host header, is the origin of
// the DÁP QR code and of redirects; an https one makes cookies Secure.
func TestPublicURL(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{PublicURL: "https://idp.example:8443"})
	c := m.client(t)
	c.get("/dap")
	if got := decodeQR(t, c.find(reDAPQR)); !strings.HasPrefix(got, "https://idp.example:8443/dap/jovahagyas/") {
		t.Errorf("DÁP QR code: %q, want it on the public URL", got)
	}
	req, _ := http.NewRequest("GET", m.URL+"/plusz/kod", nil)
	req.Host = "evil.example"
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "https://idp.example:8443/plusz" {
		t.Errorf("redirect to %q, want the public URL's /plusz", loc)
	}
	var secure bool
	for _, k := range res.Cookies() {
		secure = k.Name == "kapu_session" && k.Secure && k.HttpOnly && k.SameSite != http.SameSiteNoneMode
	}
	if !secure {
		t.Errorf("cookies %v: want kapu_session Secure, HttpOnly, SameSite", res.Cookies())
	}
	for _, bad := range []string{"idp.example", "ftp://idp.example", "https://idp.example/kapu", "https://", "https://idp.example/?a=1"} {
		if _, err := mockidp.New(mockidp.Options{PublicURL: bad}); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
}

// Nothing an anonymous client can call grows without bound.
func TestBounded(t *testing.T) {
	t.Parallel()
	t.Run("DÁP on a frozen clock", func(t *testing.T) {
		m := newMock(t, mockidp.Options{MaxDAP: 10})
		first := m.client(t)
		p := dapURL(t, first)
		for range 40 {
			m.client(t).get("/dap")
		}
		if _, n := m.srv.Pending(); n > 10 {
			t.Errorf("%d pending DÁP logins, want at most 10", n)
		}
		if m.client(t).get(p).code != http.StatusGone {
			t.Error("the oldest DÁP login was not the one dropped")
		}
		last := m.client(t)
		q := dapURL(t, last)
		m.api(t, "POST", "/__kapu/reset", `{}`, nil)
		if _, n := m.srv.Pending(); n != 0 {
			t.Errorf("reset left %d DÁP logins", n)
		}
		if m.client(t).get(q).code != http.StatusGone {
			t.Error("a DÁP URL works after reset")
		}
	})
	t.Run("sessions: the anonymous go first", func(t *testing.T) {
		m := newMock(t, mockidp.Options{MaxSessions: 20})
		u := m.newUser(t)
		in := m.client(t)
		in.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
		for range 100 {
			m.client(t).get("/")
		}
		if n, _ := m.srv.Pending(); n > 20 {
			t.Errorf("%d sessions, want at most 20", n)
		}
		in.get("/ugyfelkapu/fiok").wantH1("Üdvözöljük, " + u.Name + "!")
	})
	t.Run("server timeouts", func(t *testing.T) {
		hs := mockidp.HTTPServer(http.NotFoundHandler())
		if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 {
			t.Errorf("timeouts: header %v read %v write %v idle %v", hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout)
		}
	})
}

// A DÁP login is one factor on the phone: the success page says DÁP and
// claims no two-factor login.
func TestDAPSaysWhatWasChecked(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{})
	u := m.newUser(t)
	desk, phone := m.client(t), m.client(t)
	p := dapURL(t, desk)
	phone.get(p).post(p, "username", u.Username, "password", u.Password)
	desk.get("/dap/allapot").wantH1("Sikeres bejelentkezés")
	if strings.Contains(desk.page, "kétfaktoros") {
		t.Error("the DÁP success page claims a two-factor login")
	}
	desk.wantText("DÁP mobilalkalmazással")
}
