package mockidp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
	"github.com/kapu-dev/kapu/mockidp/account"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// t0 is 15 s into a step.
var t0 = time.Date(2030, 1, 2, 3, 4, 15, 0, time.UTC)

type mock struct {
	*httptest.Server
	srv *mockidp.Server
}

func newMock(t testing.TB, opts mockidp.Options) *mock {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = mockidp.FrozenClock(t0)
	}
	opts.TestAPI = true
	srv, err := mockidp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &mock{ts, srv}
}

// client is one browser: a cookie jar and the last page it saw.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	page string // body of the last response
	code int
	loc  string // the Location of a redirect not followed
}

func (m *mock) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: m.URL, hc: &http.Client{Jar: jar}}
}

func (c *client) get(path string) *client {
	c.t.Helper()
	res, err := c.hc.Get(c.base + path)
	c.read(res, err)
	return c
}

// post sends fields with the CSRF token of the last page.
func (c *client) post(path string, kv ...string) *client {
	c.t.Helper()
	v := url.Values{"csrf": {c.csrf()}}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return c.postRaw(path, v)
}

func (c *client) postRaw(path string, v url.Values) *client {
	c.t.Helper()
	res, err := c.hc.PostForm(c.base+path, v)
	c.read(res, err)
	return c
}

func (c *client) read(res *http.Response, err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	c.page, c.code, c.loc = string(b), res.StatusCode, res.Header.Get("Location")
	if res.StatusCode >= 500 {
		c.t.Fatalf("%s %s: %d", res.Request.Method, res.Request.URL.Path, res.StatusCode)
	}
}

var (
	reCSRF  = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	reAlert = regexp.MustCompile(`role="alert"[^>]*>([^<]*)<`)
	reH1    = regexp.MustCompile(`<h1>([^<]*)</h1>`)
	reKey   = regexp.MustCompile(`id="kulcs"[^>]*value="([^"]*)"`)
	reLink  = regexp.MustCompile(`<a href="(otpauth://[^"]*)">Megnyitás a hitelesítő alkalmazásban</a>`)
	reQR    = regexp.MustCompile(`<img src="data:image/png;base64,([^"]+)" alt="QR-kód"`)
	reRecov = regexp.MustCompile(`id="torlokod"[^>]*value="([^"]*)"`)
)

func (c *client) find(re *regexp.Regexp) string {
	m := re.FindStringSubmatch(c.page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func (c *client) csrf() string { return c.find(reCSRF) }

// cookie is the session cookie the client holds now.
func (c *client) cookie() string {
	u, _ := url.Parse(c.base)
	for _, k := range c.hc.Jar.Cookies(u) {
		if k.Name == "kapu_session" {
			return k.Value
		}
	}
	return ""
}

// as is another browser that holds the session cookie value (a cookie
// captured by an attacker, or the same browser's second tab).
func (m *mock) as(t testing.TB, cookie string) *client {
	c := m.client(t)
	u, _ := url.Parse(m.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "kapu_session", Value: cookie, Path: "/"}})
	return c
}
func (c *client) alert() string { return c.find(reAlert) }
func (c *client) h1() string    { return c.find(reH1) }

func (c *client) wantAlert(want string) {
	c.t.Helper()
	if got := c.alert(); got != want {
		c.t.Errorf("alert: want %q, found %q (h1 %q)", want, got, c.h1())
	}
}

func (c *client) wantH1(want string) {
	c.t.Helper()
	if got := c.h1(); got != want {
		c.t.Errorf("h1: want %q, found %q (alert %q)", want, got, c.alert())
	}
}

func (c *client) wantText(want string) {
	c.t.Helper()
	if !strings.Contains(html.UnescapeString(c.page), want) {
		c.t.Errorf("page %q lacks %q", c.h1(), want)
	}
}

// api calls the test API and decodes the answer into out.
func (m *mock) api(t testing.TB, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, m.URL+path, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

type user struct{ Username, Password, Name string }

func (m *mock) newUser(t testing.TB) user {
	t.Helper()
	var u user
	if code := m.api(t, "POST", "/__kapu/users", `{}`, &u); code != http.StatusCreated {
		t.Fatalf("create user: %d", code)
	}
	return u
}

func codeAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func decodeQR(t testing.TB, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	r := qrcode.NewQRCodeReader()
	res, err := r.Decode(bmp, nil)
	if err != nil { // the detector misses some codes that are plainly there
		res, err = r.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	}
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

// enroll walks SPEC §1.3 to the end and returns the secret and törlőkód,
// then moves the clock one step on: the enrollment code's step is used.
func (m *mock) enroll(t testing.TB, u user) (secret, recovery string) {
	t.Helper()
	secret, recovery = m.enrollAt(t, u)
	m.srv.Clock().Advance(30 * time.Second)
	return secret, recovery
}

// enrollAt enrolls without moving the clock.
func (m *mock) enrollAt(t testing.TB, u user) (secret, recovery string) {
	t.Helper()
	c := m.client(t)
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	c.get("/ugyfelkapu/plusz/osszerendeles")
	// The secret as an authenticator app reads it: from the QR code.
	uri, err := url.Parse(decodeQR(t, c.find(reQR)))
	if err != nil {
		t.Fatal(err)
	}
	secret = uri.Query().Get("secret")
	if key := strings.ReplaceAll(c.find(reKey), " ", ""); secret == "" || key != secret {
		t.Fatalf("the QR's secret %q is not the manual key %q", secret, key)
	}
	c.post("/ugyfelkapu/plusz/osszerendeles", "password", u.Password, "code", codeAt(t, secret, m.srv.Clock().Now()))
	recovery = c.find(reRecov)
	c.post("/ugyfelkapu/plusz/torlokod", "saved", "igen")
	c.wantH1("Az Ügyfélkapu+ megrendelése sikeresen megtörtént!")
	return secret, recovery
}

// login walks SPEC §1.4 up to the code page.
func (m *mock) login(t testing.TB, u user) *client {
	t.Helper()
	c := m.client(t)
	c.get("/plusz").post("/plusz", "username", u.Username, "password", u.Password)
	return c
}

var _ = account.ErrBadCode

func serve(t testing.TB, h http.Handler) string {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}
