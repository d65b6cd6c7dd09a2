package mockidp_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
)

var reDAPQR = regexp.MustCompile(`<img src="data:image/png;base64,([^"]+)" alt="QR-kód"`)

// dapURL starts a DÁP login on c and returns the phone URL's path.
func dapURL(t *testing.T, c *client) string {
	t.Helper()
	c.get("/dap")
	u, err := url.Parse(decodeQR(t, c.find(reDAPQR)))
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func TestDAPOneTimeAndExpiry(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	u := m.newUser(t)

	desk, phone := m.client(t), m.client(t)
	p := dapURL(t, desk)
	phone.get(p)
	phone.get(p) // opening twice is fine: the URL is used up when approved
	phone.wantText("Jóváhagyás")
	phone.post(p, "username", u.Username, "password", "rossz")
	phone.wantAlert("Hibás felhasználónév vagy jelszó.")
	desk.get("/dap/allapot")
	if desk.h1() == "Sikeres bejelentkezés" {
		t.Fatal("logged in before approval")
	}
	phone.post(p, "username", u.Username, "password", u.Password)
	phone.wantH1("A bejelentkezést jóváhagyta")
	desk.get("/dap/allapot").wantH1("Sikeres bejelentkezés")
	desk.wantText(u.Name)
	phone.get(p)
	if phone.code != http.StatusGone {
		t.Errorf("the URL a second time: %d, want 410", phone.code)
	}

	// Expiry: at created + 2m the URL no longer works; a second before, it does.
	desk2, phone2 := m.client(t), m.client(t)
	p2 := dapURL(t, desk2)
	m.srv.Clock().Advance(mockidp.DAPLifetime - time.Second)
	phone2.get(p2)
	if phone2.code != http.StatusOK {
		t.Errorf("at 1:59: %d, want 200", phone2.code)
	}
	m.srv.Clock().Advance(time.Second)
	phone2.post(p2, "username", u.Username, "password", u.Password)
	if phone2.code != http.StatusGone {
		t.Errorf("approved at 2:00: %d, want 410", phone2.code)
	}
	desk2.get("/dap/allapot").wantText("A QR-kód lejárt.")
}
