package mockidp_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
)

func TestEnrollmentScreens(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	u := m.newUser(t)
	c := m.client(t)
	c.get("/").wantH1("Bejelentkezés")
	for _, s := range []string{"Válasszon azonosítási módot!", "DÁP mobilalkalmazás", "Ügyfélkapu+", "További azonosítási módok", "Súgó", "Vissza az előző oldalra", "Igényeljen Ügyfélkapu+-t!", "Letölthető az App Store-ból"} {
		c.wantText(s)
	}
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", "wrong")
	c.wantAlert("Hibás felhasználónév vagy jelszó.")
	if !strings.Contains(c.page, `value="`+u.Username+`"`) {
		t.Error("the username field lost what was typed")
	}
	c.post("/ugyfelkapu", "username", u.Username+"x", "password", u.Password)
	c.wantAlert("Hibás felhasználónév vagy jelszó.")
	c.post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	c.wantH1("Üdvözöljük, " + u.Name + "!")
	c.wantText("Ügyfélkapu+ igénylése")
	c.get("/ugyfelkapu/plusz").wantText("Tovább az Ügyfélkapu+ igényléshez")

	c.get("/ugyfelkapu/plusz/osszerendeles")
	for _, s := range []string{"Olvasd be okostelefonoddal a QR kódot.", "Figyelj, mert a kód 30 másodpercenként változik!", `inputmode="numeric"`, `autocomplete="one-time-code"`, ">6 jegyű kód<", ">Kulcs kézi megadáshoz<"} {
		c.wantText(s)
	}
	link := c.find(reLink)
	qr := decodeQR(t, c.find(reQR))
	key := strings.ReplaceAll(c.find(reKey), " ", "")
	if link != qr {
		t.Errorf("QR %q != link %q", qr, link)
	}
	uri, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := uri.Query()
	wantLabel := "Ügyfélkapu+:" + u.Username
	if uri.Scheme != "otpauth" || uri.Host != "totp" || strings.TrimPrefix(uri.Path, "/") != wantLabel {
		t.Errorf("URI %s: want otpauth://totp/%s", link, wantLabel)
	}
	if q.Get("issuer") != "Ügyfélkapu+" || q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("secret") != key {
		t.Errorf("URI query %v: want issuer Ügyfélkapu+, SHA1, 6, 30, the manual key", q)
	}
	if !strings.Contains(link, "%2B") || strings.Contains(link, "+") {
		t.Errorf("URI %s: + must be %%2B", link)
	}
	if len(key) != 32 {
		t.Errorf("secret %d base32 characters, want 32 (160 bits)", len(key))
	}

	now := m.srv.Clock().Now()
	c.post("/ugyfelkapu/plusz/osszerendeles", "password", "wrong", "code", "000000")
	c.wantAlert("Hibás jelszó.")
	c.post("/ugyfelkapu/plusz/osszerendeles", "password", u.Password, "code", codeAt(t, key, now.Add(-60*time.Second)))
	c.wantAlert("Hibás vagy lejárt kód.")
	if again := strings.ReplaceAll(c.find(reKey), " ", ""); again != key {
		t.Error("a failed Tovább showed a new secret")
	}
	c.post("/ugyfelkapu/plusz/osszerendeles", "password", u.Password, "code", codeAt(t, key, now))
	c.wantH1("Írd fel magadnak a törlőkódot!")
	rc := c.find(reRecov)
	if n := len(strings.ReplaceAll(rc, " ", "")); n != 16 {
		t.Errorf("törlőkód %q: %d characters, want 16", rc, n)
	}
	c.get("/ugyfelkapu/plusz/osszerendeles")
	if c.find(reRecov) != rc {
		t.Error("coming back after Tovább did not show the same törlőkód")
	}
	// Ügyfélkapu+ is not active before Befejezés.
	if l := m.login(t, u); l.alert() != "Ehhez a bejelentkezéshez Ügyfélkapu+ szükséges." {
		t.Errorf("login before Befejezés: alert %q", l.alert())
	}
	c.post("/ugyfelkapu/plusz/torlokod")
	c.wantAlert("Kérjük, erősítse meg, hogy a törlőkódot elmentette.")
	c.post("/ugyfelkapu/plusz/torlokod", "saved", "igen")
	c.wantH1("Az Ügyfélkapu+ megrendelése sikeresen megtörtént!")
	c.get("/ugyfelkapu/fiok").wantText("Ügyfélkapu+ megszüntetése törlőkóddal")

	// SPEC §7: the enrollment code is used; the first login needs the next step.
	l := m.login(t, u)
	l.wantText("Írd be a 6 jegyű kódodat")
	l.post("/plusz/kod", "code", codeAt(t, key, now))
	l.wantAlert("Hibás vagy lejárt kód.")
	m.srv.Clock().Advance(30 * time.Second)
	l.post("/plusz/kod", "code", codeAt(t, key, m.srv.Clock().Now()))
	l.wantH1("Sikeres bejelentkezés")
	l.wantText(u.Name)
	l.post("/kijelentkezes").wantH1("Bejelentkezés")
	l.get("/plusz/sikeres").wantH1("Bejelentkezés Ügyfélkapu+-szal")
}

func TestLoginRules(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	fresh := m.newUser(t)
	m.login(t, fresh).wantAlert("Ehhez a bejelentkezéshez Ügyfélkapu+ szükséges.")
	m.login(t, user{Username: fresh.Username, Password: "x"}).wantAlert("Hibás felhasználónév vagy jelszó.")

	u := m.newUser(t)
	key, _ := m.enroll(t, u)
	c := m.login(t, u)
	for i := 1; i <= 4; i++ {
		c.post("/plusz/kod", "code", "000000")
		c.wantAlert("Hibás vagy lejárt kód.")
	}
	c.post("/plusz/kod", "code", "12345") // not 6 digits: a wrong code, the 5th
	c.wantAlert("Túl sok sikertelen próbálkozás. Próbálja újra később.")
	right := codeAt(t, key, m.srv.Clock().Now())
	c.post("/plusz/kod", "code", right)
	c.wantAlert("Túl sok sikertelen próbálkozás. Próbálja újra később.")
	// A locked user with the right password reaches the code page, with the alert.
	m.login(t, u).wantAlert("Túl sok sikertelen próbálkozás. Próbálja újra később.")
	// The password-only login is not blocked.
	p := m.client(t)
	p.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	p.wantH1("Üdvözöljük, " + u.Name + "!")
	p.get("/ugyfelkapu/megszuntetes").wantAlert("Túl sok sikertelen próbálkozás. Próbálja újra később.")

	m.srv.Clock().Advance(15 * time.Minute)
	c.post("/plusz/kod", "code", codeAt(t, key, m.srv.Clock().Now()))
	c.wantH1("Sikeres bejelentkezés")
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	u := m.newUser(t)
	key, rc := m.enroll(t, u)
	c := m.client(t)
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	c.get("/ugyfelkapu/megszuntetes").wantText(">Törlőkód<")
	c.post("/ugyfelkapu/megszuntetes", "recovery", "AAAA BBBB CCCC DDDD")
	c.wantAlert("Hibás törlőkód.")
	c.post("/ugyfelkapu/megszuntetes", "recovery", strings.ToLower(strings.ReplaceAll(rc, " ", "-")))
	c.wantText("Az Ügyfélkapu+ szolgáltatás megszűnt.")
	c.wantText("Ügyfélkapu+ igénylése")
	m.login(t, u).wantAlert("Ehhez a bejelentkezéshez Ügyfélkapu+ szükséges.")
	key2, rc2 := m.enroll(t, u)
	if key2 == key {
		t.Error("the new phone got the old secret")
	}
	c.get("/ugyfelkapu/megszuntetes").post("/ugyfelkapu/megszuntetes", "recovery", rc)
	c.wantAlert("Hibás törlőkód.")
	l := m.login(t, u)
	l.post("/plusz/kod", "code", codeAt(t, key, m.srv.Clock().Now()))
	l.wantAlert("Hibás vagy lejárt kód.")
	l.post("/plusz/kod", "code", codeAt(t, key2, m.srv.Clock().Now()))
	l.wantH1("Sikeres bejelentkezés")
	_ = rc2
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	u := m.newUser(t)
	c := m.client(t)
	c.get("/ugyfelkapu")
	for name, v := range map[string]url.Values{
		"missing":  {"username": {u.Username}, "password": {u.Password}},
		"wrong":    {"csrf": {strings.Repeat("0", 64)}, "username": {u.Username}, "password": {u.Password}},
		"repeated": {"csrf": {c.csrf(), c.csrf()}, "username": {u.Username}, "password": {u.Password}},
	} {
		c.postRaw("/ugyfelkapu", v)
		if c.code != http.StatusForbidden {
			t.Errorf("%s CSRF token: status %d, want 403", name, c.code)
		}
	}
	// Another browser's token does not work in this one.
	other := m.client(t)
	other.get("/ugyfelkapu")
	c.postRaw("/ugyfelkapu", url.Values{"csrf": {other.csrf()}, "username": {u.Username}, "password": {u.Password}})
	if c.code != http.StatusForbidden {
		t.Errorf("another session's token: status %d", c.code)
	}
	c.get("/ugyfelkapu/fiok")
	c.wantH1("Bejelentkezés Ügyfélkapuval") // not logged in: nothing changed
}

func TestCookie(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{})
	res, err := http.Get(m.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ck := res.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax", ck)
	}
}

// TestStaticCache: the pages name the static files by their content, and
// only those addresses may be kept; pages are never stored.
func TestStaticCache(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{})
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(m.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("/")
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("page: Cache-Control %q, want no-store", cc)
	}
	refs := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) != 2 {
		t.Fatalf("static files named by the page: %q, want the style sheet and the script", refs)
	}
	for _, r := range refs {
		path := html.UnescapeString(r[1])
		if !strings.Contains(path, "?v=") {
			t.Errorf("%s: no version in the address", path)
		}
		res, _ := get(path)
		if cc := res.Header.Get("Cache-Control"); res.StatusCode != 200 || cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d, Cache-Control %q, want 200, immutable", path, res.StatusCode, cc)
		}
		bare, _, _ := strings.Cut(path, "?")
		for _, p := range []string{bare, bare + "?v=0123456789abcdef"} {
			if res, _ := get(p); res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("%s: %d, Cache-Control %q, want 200, no-cache", p, res.StatusCode, res.Header.Get("Cache-Control"))
			}
		}
	}
}

func TestTestAPI(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Clock: mockidp.NewClock()})
	type clockState struct {
		Now    time.Time
		Frozen bool
	}
	var st clockState
	if code := m.api(t, "GET", "/__kapu/clock", "", &st); code != 200 || st.Frozen {
		t.Fatalf("GET clock: %d %+v", code, st)
	}
	m.api(t, "POST", "/__kapu/clock", `{"freeze": true, "set": "2031-05-06T07:08:29Z", "advance": "2s"}`, &st)
	if !st.Frozen || !st.Now.Equal(time.Date(2031, 5, 6, 7, 8, 31, 0, time.UTC)) {
		t.Errorf("freeze+set+advance: %+v", st)
	}
	m.api(t, "POST", "/__kapu/clock", `{"advance": "29s", "freeze": false}`, &st)
	if st.Frozen || st.Now.Before(time.Date(2031, 5, 6, 7, 9, 0, 0, time.UTC)) {
		t.Errorf("advance then unfreeze: %+v", st)
	}

	var u struct{ Username, Password, Name string }
	if code := m.api(t, "POST", "/__kapu/users", `{"username":"anna","password":"titok","name":"Kovács Anna"}`, &u); code != 201 || u.Username != "anna" || u.Name != "Kovács Anna" {
		t.Errorf("create: %d %+v", code, u)
	}
	if code := m.api(t, "POST", "/__kapu/users", `{"username":"anna"}`, nil); code != http.StatusConflict {
		t.Errorf("taken name: %d, want 409", code)
	}
	m.api(t, "POST", "/__kapu/reset", "", nil)
	if code := m.api(t, "POST", "/__kapu/users", `{"username":"anna"}`, nil); code != http.StatusCreated {
		t.Errorf("after reset: %d, want 201", code)
	}
	m.api(t, "GET", "/__kapu/clock", "", &st)
	if st.Now.Before(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("reset moved the clock: %v", st.Now)
	}
}

func TestTestAPIOffByDefault(t *testing.T) {
	t.Parallel()
	srv, err := mockidp.New(mockidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, srv)
	for _, p := range []string{"/__kapu/clock", "/__kapu/users"} {
		res, err := http.Post(ts+p, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s without --test-api: %d, want 404", p, res.StatusCode)
		}
	}
}

func TestManyUsersOverHTTP(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	users := make([]user, 200)
	for i := range users {
		users[i] = m.newUser(t)
	}
	keys := make([]string, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() { keys[i], _ = m.enrollAt(t, u) })
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatal("two users got the same secret")
		}
		seen[k] = true
	}
	m.srv.Clock().Advance(30 * time.Second)
	now := m.srv.Clock().Now()
	// The test API's clock calls during the logins: reads, and moves of
	// nothing, through HTTP as flows make them.
	stop := make(chan struct{})
	var clockCalls sync.WaitGroup
	clockCalls.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			var st struct{ Now time.Time }
			m.api(t, "GET", "/__kapu/clock", "", &st)
			m.api(t, "POST", "/__kapu/clock", `{"freeze": true, "advance": "0s"}`, &st)
		}
	})
	defer func() { close(stop); clockCalls.Wait() }()
	for i, u := range users {
		wg.Go(func() {
			c := m.login(t, u)
			c.post("/plusz/kod", "code", codeAt(t, keys[i], now))
			if c.h1() != "Sikeres bejelentkezés" {
				t.Errorf("%s: %q %q", u.Username, c.h1(), c.alert())
			}
		})
	}
	wg.Wait()
}
