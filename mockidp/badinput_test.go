package mockidp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/mockidp"
)

// TestBadInput: every malformed request gets a 4xx and changes nothing:
// after all of them the user can still log in once, normally.
func TestBadInput(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	u := m.newUser(t)
	c := m.client(t)
	c.get("/ugyfelkapu")
	tok := c.csrf()
	long := strings.Repeat("a", 257)
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name, method, path, ctype, body string
		want                            int
		header                          map[string]string
	}{
		{"unknown path", "GET", "/nincs-ilyen", "", "", 404, nil},
		{"path trick", "GET", "/static/../../etc/passwd", "", "", 404, nil},
		{"encoded path trick", "GET", "/static/%2e%2e/%2e%2e/go.mod", "", "", 404, nil},
		{"wrong method on a page", "DELETE", "/ugyfelkapu", "", "", 405, nil},
		{"POST to a GET-only page", "POST", "/", "application/x-www-form-urlencoded", form("csrf", tok), 405, nil},
		{"GET on logout", "GET", "/kijelentkezes", "", "", 405, nil},
		{"no CSRF", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", form("username", u.Username, "password", u.Password), 403, nil},
		{"wrong CSRF", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", form("csrf", "x", "username", u.Username, "password", u.Password), 403, nil},
		{"missing field", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", form("csrf", tok, "username", u.Username), 400, nil},
		{"repeated field", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", form("csrf", tok, "username", u.Username, "username", "x", "password", u.Password), 400, nil},
		{"over-long value", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", form("csrf", tok, "username", long, "password", u.Password), 400, nil},
		{"invalid UTF-8", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", "csrf=" + tok + "&username=%ff%fe&password=x", 400, nil},
		{"broken encoding", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", "csrf=" + tok + "&username=%zz", 400, nil},
		{"huge body", "POST", "/ugyfelkapu", "application/x-www-form-urlencoded", "csrf=" + tok + "&username=" + strings.Repeat("a", 1<<20), 413, nil},
		{"not a form", "POST", "/ugyfelkapu", "application/json", `{"username":"x"}`, 415, nil},
		{"multipart", "POST", "/ugyfelkapu", "multipart/form-data; boundary=x", "--x--", 415, nil},
		{"api: broken JSON", "POST", "/__kapu/clock", "application/json", `{"advance":`, 400, nil},
		{"api: unknown field", "POST", "/__kapu/clock", "application/json", `{"advanse":"1s"}`, 400, nil},
		{"api: wrong type", "POST", "/__kapu/clock", "application/json", `{"advance":30}`, 400, nil},
		{"api: negative advance", "POST", "/__kapu/clock", "application/json", `{"advance":"-30s"}`, 400, nil},
		{"api: absurd advance", "POST", "/__kapu/clock", "application/json", `{"advance":"100000h"}`, 400, nil},
		{"api: bad set", "POST", "/__kapu/clock", "application/json", `{"set":"tegnap"}`, 400, nil},
		{"api: absurd set", "POST", "/__kapu/clock", "application/json", `{"set":"9999-01-01T00:00:00Z"}`, 400, nil},
		{"api: two values", "POST", "/__kapu/clock", "application/json", `{} {}`, 400, nil},
		{"api: form content type", "POST", "/__kapu/users", "application/x-www-form-urlencoded", "username=x", 415, nil},
		{"api: unknown call", "GET", "/__kapu/nincs", "", "", 404, nil},
		{"api: wrong method", "DELETE", "/__kapu/clock", "", "", 405, nil},
		{"api: GET users", "GET", "/__kapu/users", "", "", 405, nil},
		{"api: taken username", "POST", "/__kapu/users", "application/json", `{"username":"` + u.Username + `"}`, 409, nil},
		{"api: empty username", "POST", "/__kapu/users", "application/json", `{"username":""}`, 400, nil},
		{"api: control character", "POST", "/__kapu/users", "application/json", `{"username":"a\u0000b"}`, 400, nil},
		{"api: huge JSON", "POST", "/__kapu/users", "application/json", `{"name":"` + strings.Repeat("a", 100<<10) + `"}`, 413, nil},
		{"static: no directory listing", "GET", "/static/", "", "", 404, nil},
		{"api: POST without a content type", "POST", "/__kapu/reset", "", "", 415, nil},
		{"api: empty POST as text", "POST", "/__kapu/clock", "text/plain", "", 415, nil},
		{"api: foreign Host (DNS rebinding)", "POST", "/__kapu/clock", "application/json", `{"advance":"1h"}`, 403, map[string]string{"Host": "evil.example"}},
		{"api: foreign Host with port", "GET", "/__kapu/clock", "", "", 403, map[string]string{"Host": "rebind.evil.example:8080"}},
		{"api: foreign Host, reset", "POST", "/__kapu/reset", "application/json", `{}`, 403, map[string]string{"Host": "10.0.0.8"}},
		{"api: cross-site Origin", "POST", "/__kapu/clock", "application/json", `{"advance":"1h"}`, 403, map[string]string{"Origin": "https://evil.example"}},
		{"api: null Origin", "POST", "/__kapu/reset", "application/json", `{}`, 403, map[string]string{"Origin": "null"}},
		{"api: Sec-Fetch-Site cross-site", "POST", "/__kapu/clock", "application/json", `{"advance":"1h"}`, 403, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	before := m.srv.Clock().Now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, m.URL+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			for k, v := range tt.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			res, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, res.StatusCode, tt.want)
			}
		})
	}
	if !m.srv.Clock().Now().Equal(before) {
		t.Error("a refused clock call moved the clock")
	}
	c.get("/ugyfelkapu/fiok").wantH1("Bejelentkezés Ügyfélkapuval") // still logged out
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	c.wantH1("Üdvözöljük, " + u.Name + "!")
}
