package mockidp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/mockidp"
)

// FuzzFormPost: no form post, whatever its body, makes the mock answer
// 5xx or panic.
func FuzzFormPost(f *testing.F) {
	for _, s := range []string{"csrf=x&username=a&password=b", "code=123456", "saved=igen", "recovery=AAAA", "%zz", "username=\xff", strings.Repeat("a=1&", 100)} {
		f.Add("/ugyfelkapu", s)
		f.Add("/plusz/kod", s)
	}
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: true})
	if err != nil {
		f.Fatal(err)
	}
	paths := []string{"/ugyfelkapu", "/plusz", "/plusz/kod", "/ugyfelkapu/plusz/osszerendeles", "/ugyfelkapu/plusz/torlokod", "/ugyfelkapu/megszuntetes", "/kijelentkezes", "/dap/jovahagyas/x", "/__kapu/clock", "/__kapu/users"}
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = paths[len(path)%len(paths)]
		}
		for _, ct := range []string{"application/x-www-form-urlencoded", "application/json"} {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.URL.Path = path
			req.Header.Set("Content-Type", ct)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Errorf("POST %q %q (%s): %d", path, body, ct, w.Code)
			}
		}
	})
}

// FuzzProtocols sends arbitrary SAML and OIDC requests: every answer is a
// 4xx or a page, never a panic or a 500, and never a redirect away from
// the mock except to a registered redirect URI.
func FuzzProtocols(f *testing.F) {
	for _, s := range []string{
		"SAMLRequest=%%%", "SAMLRequest=" + strings.Repeat("A", 300), "SAMLRequest=fZBBT4NAEIX%2F&RelayState=x",
		"client_id=app&redirect_uri=https://app.example/cb&response_type=code&scope=openid&code_challenge=" + strings.Repeat("a", 43) + "&code_challenge_method=S256",
		"client_id=app&redirect_uri=https://app.example/cb&response_type=token",
		"grant_type=authorization_code&code=x&client_id=app&code_verifier=" + strings.Repeat("b", 50),
		"client_id=app&client_secret=x&grant_type=refresh_token", "%zz", "client_id=\xff",
	} {
		for _, p := range []string{"/saml/sso", "/oidc/authorize", "/oidc/token", "/oidc/userinfo"} {
			f.Add(p, s, true)
			f.Add(p, s, false)
		}
	}
	srv, err := mockidp.New(mockidp.Options{Skew: 1, OIDCClients: []mockidp.OIDCClient{{ID: "app", RedirectURI: "https://app.example/cb"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, params string, post bool) {
		var req *http.Request
		if post {
			req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(params))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL.RawQuery = params
		}
		req.URL.Path = path
		req.Header.Set("Authorization", "Bearer "+params)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Errorf("%s %q %q: %d", req.Method, path, params, w.Code)
		}
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "https://app.example/cb?") {
			t.Errorf("%s %q %q: redirect to %q", req.Method, path, params, loc)
		}
	})
}
