package mockidp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/kapu-dev/kapu/mockidp"
	"golang.org/x/oauth2"
)

// These tests are the app: github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2, which share no code with the mock, discover it,
// exchange codes and verify every id_token.

const (
	confID, confSecret = "konyvtar", "titok:+%ok" // : + % in the secret: basic auth form-encodes them
	publicID           = "spa"
)

// rpFor is a relying party of the mock: its OAuth config and verifier.
type rpFor struct {
	m        *mock
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
}

// oidcMock serves the mock with a confidential and a public client, and
// returns a relying party for each (discovery as a real one does it).
func oidcMock(t *testing.T) (m *mock, conf, public *rpFor) {
	t.Helper()
	m = newMock(t, mockidp.Options{Skew: 1, OIDCClients: []mockidp.OIDCClient{
		{ID: confID, Secret: confSecret, RedirectURI: "https://konyvtar.example/callback?from=kapu"},
		{ID: publicID, RedirectURI: "http://127.0.0.1:9/spa/cb"},
	}})
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	p, err := oidc.NewProvider(ctx, m.URL) // fails unless the issuer is byte for byte m.URL
	if err != nil {
		t.Fatal(err)
	}
	rp := func(id, secret, redirect string) *rpFor {
		return &rpFor{m: m, provider: p,
			conf:     oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "profile"}},
			verifier: p.Verifier(&oidc.Config{ClientID: id, Now: m.srv.Clock().Now})}
	}
	return m, rp(confID, confSecret, "https://konyvtar.example/callback?from=kapu"), rp(publicID, "", "http://127.0.0.1:9/spa/cb")
}

// start sends a new browser to the authorization endpoint and returns it
// on the start page; the redirect back to the app is not followed.
func (rp *rpFor) start(t *testing.T, state string, opts ...oauth2.AuthCodeOption) *client {
	t.Helper()
	c := rp.m.client(t)
	mockHost := strings.TrimPrefix(rp.m.URL, "http://")
	c.hc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != mockHost {
			return http.ErrUseLastResponse
		}
		return nil
	}
	c.get(strings.TrimPrefix(rp.conf.AuthCodeURL(state, opts...), rp.m.URL))
	return c
}

// callback is the query the app's redirect URI got.
func (rp *rpFor) callback(t *testing.T, c *client) url.Values {
	t.Helper()
	u, err := url.Parse(c.loc)
	if err != nil || c.code != http.StatusSeeOther {
		t.Fatalf("no redirect to the app: %d %q; h1 %q alert %q", c.code, c.loc, c.h1(), c.alert())
	}
	if want, _ := url.Parse(rp.conf.RedirectURL); u.Scheme+u.Host+u.Path != want.Scheme+want.Host+want.Path {
		t.Fatalf("redirected to %s, want the registered %s", c.loc, rp.conf.RedirectURL)
	}
	return u.Query()
}

// claims are the id_token claims the tests read.
type claims struct {
	Name     string   `json:"name"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

// exchange trades the code for tokens and verifies the id_token.
func (rp *rpFor) exchange(t *testing.T, q url.Values, opts ...oauth2.AuthCodeOption) (*oidc.IDToken, *oauth2.Token, error) {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	tok, err := rp.conf.Exchange(ctx, q.Get("code"), opts...)
	if err != nil {
		return nil, nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	return idt, tok, err
}

func TestOIDCLogin(t *testing.T) {
	t.Parallel()
	m, conf, public := oidcMock(t)
	u := m.newUser(t)
	secret, _ := m.enroll(t, u) // through the QR code, on the mock's own pages

	logins := []struct {
		method string
		login  func(c *client)
		want   mockidp.Method
	}{
		{"Ügyfélkapu+", func(c *client) {
			c.get("/plusz").post("/plusz", "username", u.Username, "password", u.Password)
			c.post("/plusz/kod", "code", codeAt(t, secret, m.srv.Clock().Now()))
		}, mockidp.MethodPlus},
		{"Ügyfélkapu", func(c *client) {
			c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
		}, mockidp.MethodPassword},
		{"DÁP", func(c *client) {
			p := dapURL(t, c)
			m.client(t).get(p).post(p, "username", u.Username, "password", u.Password)
			c.get("/dap/allapot")
		}, mockidp.MethodDAP},
	}
	subs := map[string][]string{}
	for _, rp := range []*rpFor{conf, public} {
		for _, tt := range logins {
			name := rp.conf.ClientID + " " + tt.method
			verifier := oauth2.GenerateVerifier()
			c := rp.start(t, "allapot-"+name, oidc.Nonce("nonce-"+name), oauth2.S256ChallengeOption(verifier))
			c.wantH1("Bejelentkezés")
			if csp := c.lastCSP(); !strings.Contains(csp, "form-action 'self' "+strings.Split(rp.conf.RedirectURL, "?")[0]+";") {
				t.Errorf("%s: the start page's CSP does not let the login's form redirect to the app: %s", name, csp)
			}
			tt.login(c)
			q := rp.callback(t, c)
			if q.Get("state") != "allapot-"+name || q.Get("iss") != m.URL {
				t.Errorf("%s: state %q iss %q", name, q.Get("state"), q.Get("iss"))
			}
			idt, tok, err := rp.exchange(t, q, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var cl claims
			if err := idt.Claims(&cl); err != nil {
				t.Fatal(err)
			}
			if idt.Issuer != m.URL || idt.Nonce != "nonce-"+name || !slices.Equal(idt.Audience, []string{rp.conf.ClientID}) {
				t.Errorf("%s: iss %q nonce %q aud %v", name, idt.Issuer, idt.Nonce, idt.Audience)
			}
			if cl.Name != u.Name || cl.ACR != tt.want.ACR || !slices.Equal(cl.AMR, tt.want.AMR) || cl.AuthTime == 0 {
				t.Errorf("%s: claims %+v, want name %q acr %q amr %v", name, cl, u.Name, tt.want.ACR, tt.want.AMR)
			}
			if idt.Expiry.Sub(idt.IssuedAt) < 5*time.Minute || !idt.IssuedAt.Equal(m.srv.Clock().Now().Truncate(time.Second)) {
				t.Errorf("%s: iat %v exp %v: want the IdP clock and 5 minutes at least", name, idt.IssuedAt, idt.Expiry)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("%s: at_hash: %v", name, err)
			}
			info, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
			if err != nil || info.Subject != idt.Subject {
				t.Errorf("%s: userinfo %+v %v", name, info, err)
			}
			subs[rp.conf.ClientID] = append(subs[rp.conf.ClientID], idt.Subject)
			m.srv.Clock().Advance(31 * time.Second) // the next code is of a new step
		}
	}
	for id, s := range subs {
		if s[0] == "" || s[0] == u.Username || s[0] != s[1] || s[1] != s[2] {
			t.Errorf("%s: sub %v: want one opaque value per user", id, s)
		}
	}
}

// lastCSP is the Content-Security-Policy of the page c is on.
func (c *client) lastCSP() string {
	c.t.Helper()
	res, err := c.hc.Get(c.base + "/")
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Content-Security-Policy")
}

// acr_values asking for Ügyfélkapu+ hides the password-only login, and a
// password-only login forced anyway gets the app an error, not a code.
func TestOIDCACRValues(t *testing.T) {
	t.Parallel()
	m, conf, _ := oidcMock(t)
	u := m.newUser(t)
	c := conf.start(t, "s", oauth2.SetAuthURLParam("acr_values", mockidp.MethodPlus.ACR))
	if strings.Contains(c.page, `href="/ugyfelkapu"`) || !strings.Contains(c.page, `href="/plusz"`) {
		t.Error("the start page does not offer exactly Ügyfélkapu+ to an app that asked for it")
	}
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	q := conf.callback(t, c)
	if q.Get("error") != "access_denied" || q.Has("code") || q.Get("state") != "s" {
		t.Errorf("a password-only login answered acr_values=Ügyfélkapu+ with %v", q)
	}
}

// PKCE: required of public clients, S256 only, and checked at the token
// endpoint.
func TestOIDCPKCE(t *testing.T) {
	t.Parallel()
	m, _, public := oidcMock(t)
	u := m.newUser(t)
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no challenge": nil,
		"plain":        {oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		c := public.start(t, "s", opts...)
		if q := public.callback(t, c); q.Get("error") != "invalid_request" || q.Get("state") != "s" {
			t.Errorf("%s: %v, want invalid_request", name, q)
		}
	}
	verifier := oauth2.GenerateVerifier()
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no verifier":    nil,
		"wrong verifier": {oauth2.VerifierOption(oauth2.GenerateVerifier())},
	} {
		c := public.start(t, "s", oauth2.S256ChallengeOption(verifier))
		c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
		if _, _, err := public.exchange(t, public.callback(t, c), opts...); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("%s: exchange gave %v, want invalid_grant", name, err)
		}
	}
}

// An unknown client or an unregistered redirect_uri gets an error page,
// never a redirect.
func TestOIDCBadClients(t *testing.T) {
	t.Parallel()
	_, conf, _ := oidcMock(t)
	for name, change := range map[string]func(*oauth2.Config){
		"unknown client":           func(c *oauth2.Config) { c.ClientID = "idegen" },
		"unregistered redirect":    func(c *oauth2.Config) { c.RedirectURL = "https://evil.example/callback" },
		"redirect with extra path": func(c *oauth2.Config) { c.RedirectURL = "https://konyvtar.example/callback/x?from=kapu" },
	} {
		cfg := conf.conf
		change(&cfg)
		res, err := http.DefaultTransport.RoundTrip(mustGet(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want 400 and no redirect", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// A code works once, with its own redirect_uri, for 60 s of the IdP
// clock; a wrong client secret gets nothing; client_secret_post works.
func TestOIDCCodes(t *testing.T) {
	t.Parallel()
	m, conf, _ := oidcMock(t)
	u := m.newUser(t)
	code := func() url.Values {
		c := conf.start(t, "s")
		c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
		return conf.callback(t, c)
	}
	q := code()
	if _, _, err := conf.exchange(t, q); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, _, err := conf.exchange(t, q); err == nil {
		t.Error("a code worked twice")
	}
	q = code()
	m.srv.Clock().Advance(61 * time.Second)
	if _, _, err := conf.exchange(t, q); err == nil {
		t.Error("a code worked after 61 s of the IdP clock")
	}
	for name, change := range map[string]func(*rpFor){
		"other redirect_uri": func(rp *rpFor) { rp.conf.RedirectURL = "https://konyvtar.example/callback" },
		"wrong secret":       func(rp *rpFor) { rp.conf.ClientSecret = "rossz" },
	} {
		rp := *conf
		change(&rp)
		if _, _, err := rp.exchange(t, code()); err == nil {
			t.Errorf("%s: the code was exchanged", name)
		}
	}
	post := *conf
	post.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, _, err := post.exchange(t, code()); err != nil {
		t.Errorf("client_secret_post: %v", err)
	}
}

// An id_token changed on the way is refused by the app.
func TestOIDCTamperedRefused(t *testing.T) {
	t.Parallel()
	m, conf, _ := oidcMock(t)
	u := m.newUser(t)
	c := conf.start(t, "s")
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	tok, err := conf.conf.Exchange(context.Background(), conf.callback(t, c).Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var cl map[string]any
	json.Unmarshal(payload, &cl)
	cl["name"] = "Mallory"
	changed, _ := json.Marshal(cl)
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2]
	if _, err := conf.verifier.Verify(context.Background(), forged); err == nil {
		t.Error("the app accepted an id_token with its name changed")
	}
	if _, err := conf.verifier.Verify(context.Background(), raw); err != nil {
		t.Errorf("the untouched id_token is refused: %v", err)
	}
}

func TestParseOIDCClient(t *testing.T) {
	for in, want := range map[string]mockidp.OIDCClient{
		"app@http://127.0.0.1:8081/cb":         {ID: "app", RedirectURI: "http://127.0.0.1:8081/cb"},
		"app:s3:cr@https://a.example/cb?x=1":   {ID: "app", Secret: "s3:cr", RedirectURI: "https://a.example/cb?x=1"},
		"app:s@cr@https://a.example/cb":        {}, // split at the first @: no @ in a secret
		"app:secret@https://user@a.example/cb": {},
		"app:secret@https://a.example/cb":      {ID: "app", Secret: "secret", RedirectURI: "https://a.example/cb"},
		"app":                                  {},
		"@https://a.example/cb":                {},
		"app:@https://a.example/cb":            {},
		"app@/relative":                        {},
		"app@https://a.example/cb#frag":        {},
	} {
		got, err := mockidp.ParseOIDCClient(in)
		if want.ID == "" {
			if err == nil {
				t.Errorf("%q: accepted as %+v", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
}
