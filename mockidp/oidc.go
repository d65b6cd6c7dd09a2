package mockidp

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/go-jose/go-jose/v4"
)

// The mock as an OpenID Connect provider (SPEC §8): the authorization code
// flow, with PKCE S256 for public clients. github.com/go-jose/go-jose/v4
// signs the id_token and writes the JWKS; the flow itself is small enough
// to be read here in full, and its times come from the IdP clock (a
// library provider reads the wall clock).

// OIDCClient is a relying party registered with --oidc-client.
type OIDCClient struct {
	ID          string
	Secret      string // "": a public client, PKCE S256 required
	RedirectURI string
}

// ParseOIDCClient reads ID@REDIRECT_URI or ID:SECRET@REDIRECT_URI: split
// at the first @, then at the first : of what precedes it.
func ParseOIDCClient(s string) (OIDCClient, error) {
	who, uri, ok := strings.Cut(s, "@")
	if !ok {
		return OIDCClient{}, fmt.Errorf("%q: want ID@REDIRECT_URI or ID:SECRET@REDIRECT_URI", s)
	}
	id, secret, hasSecret := strings.Cut(who, ":")
	if id == "" {
		return OIDCClient{}, fmt.Errorf("%q: the client ID is empty", s)
	}
	if hasSecret && secret == "" {
		return OIDCClient{}, fmt.Errorf("client %q: the secret after : is empty (leave out the : for a public client)", id)
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return OIDCClient{}, fmt.Errorf("client %q: redirect URI %q: want an absolute http(s) URL without a fragment", id, uri)
	}
	return OIDCClient{ID: id, Secret: secret, RedirectURI: uri}, nil
}

const (
	codeValidFor  = 60 * time.Second
	tokenValidFor = validFor
	maxOIDCGrants = 10_000
	maxParamLen   = 2048 // state, nonce: kept in the session until the answer
)

// oidcProvider holds the clients and the codes and access tokens given.
type oidcProvider struct {
	clients map[string]OIDCClient
	codes   grants[oidcCode]
	tokens  grants[oidcToken]
}

func newOIDCProvider(clients []OIDCClient) (*oidcProvider, error) {
	p := &oidcProvider{clients: map[string]OIDCClient{}}
	for _, c := range clients {
		if _, dup := p.clients[c.ID]; dup {
			return nil, fmt.Errorf("--oidc-client %q given twice", c.ID)
		}
		p.clients[c.ID] = c
	}
	return p, nil
}

// oidcRequest is an authorization request waiting for the login.
type oidcRequest struct {
	client                  OIDCClient
	state, nonce, challenge string
	scope                   []string
}

// oidcCode is what an authorization code stands for.
type oidcCode struct {
	req   oidcRequest
	login login
}

// oidcToken is what an access token stands for (userinfo).
type oidcToken struct {
	user, client string
}

// grants is a bounded store of one-time or expiring values, by a random
// key, with expiry on the clock each was made on: the IdP clock, or the
// clock scope of the flow whose browser got it (the app's back-channel
// call that redeems it carries no cookie).
type grants[T any] struct {
	mu  sync.Mutex
	m   map[string]grant[T]
	seq uint64
}

type grant[T any] struct {
	v     T
	exp   time.Time
	seq   uint64
	clock *Clock
}

func (g *grants[T]) put(clock *Clock, v T, ttl time.Duration) string {
	now := clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]grant[T]{}
	}
	if len(g.m) >= maxOIDCGrants {
		oldest, oldestSeq := "", g.seq+1
		for k, e := range g.m {
			if !e.clock.Now().Before(e.exp) {
				delete(g.m, k)
			} else if e.seq < oldestSeq {
				oldest, oldestSeq = k, e.seq
			}
		}
		if len(g.m) >= maxOIDCGrants {
			delete(g.m, oldest)
		}
	}
	g.seq++
	k := randomHex(32)
	g.m[k] = grant[T]{v: v, exp: now.Add(ttl), seq: g.seq, clock: clock}
	return k
}

// get returns the value of k, and the clock it was made on, if it has not
// expired; take also deletes it.
func (g *grants[T]) get(k string, take bool) (T, *Clock, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.m[k]
	if take {
		delete(g.m, k)
	}
	if !ok || !e.clock.Now().Before(e.exp) {
		var zero T
		return zero, nil, false
	}
	return e.v, e.clock, true
}

func (g *grants[T]) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.m = nil
}

// oidcRoutes serves discovery, the JWKS and the three endpoints.
func (srv *Server) oidcRoutes() {
	srv.mux.HandleFunc("GET /.well-known/openid-configuration", srv.oidcDiscovery)
	srv.mux.HandleFunc("GET /oidc/jwks", srv.oidcJWKS)
	srv.mux.HandleFunc("/oidc/authorize", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			srv.errorPage(w, r, http.StatusMethodNotAllowed, "Ez a kérés itt nem engedélyezett.")
			return
		}
		srv.oidcAuthorize(w, r)
	})
	srv.mux.HandleFunc("/oidc/token", srv.cors("POST", srv.oidcToken))
	srv.mux.HandleFunc("/oidc/userinfo", srv.cors("GET, POST", srv.oidcUserinfo))
}

// cors lets browser apps (public clients) call an endpoint: no cookies
// are read there, so any origin may.
func (srv *Server) cors(methods string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch {
		case r.Method == http.MethodOptions:
			w.Header().Set("Access-Control-Allow-Methods", methods)
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.WriteHeader(http.StatusNoContent)
		case slices.Contains(strings.Split(methods, ", "), r.Method):
			h(w, r)
		default:
			w.Header().Set("Allow", methods)
			oauthError(w, http.StatusMethodNotAllowed, "invalid_request", r.Method+" is not allowed here; use "+methods)
		}
	}
}

func (srv *Server) oidcDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := srv.origin(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/oidc/authorize",
		"token_endpoint":                                 iss + "/oidc/token",
		"userinfo_endpoint":                              iss + "/oidc/userinfo",
		"jwks_uri":                                       iss + "/oidc/jwks",
		"scopes_supported":                               []string{"openid", "profile"},
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code"},
		"subject_types_supported":                        []string{"pairwise"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"acr_values_supported":                           []string{MethodPassword.ACR, MethodPlus.ACR, MethodDAP.ACR},
		"claims_supported":                               []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username", "acr", "amr"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"authorization_response_iss_parameter_supported": true,
	})
}

// jwk is the public signing key as a JWK, with its thumbprint as key ID.
func (srv *Server) jwk() (jose.JSONWebKey, error) {
	if err := srv.signing(); err != nil {
		return jose.JSONWebKey{}, err
	}
	k := jose.JSONWebKey{Key: srv.signer.Key.Public(), Algorithm: string(jose.RS256), Use: "sig"}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return k, err
	}
	k.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return k, nil
}

func (srv *Server) oidcJWKS(w http.ResponseWriter, r *http.Request) {
	k, err := srv.jwk()
	if err != nil {
		srv.log.Error("oidc", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "no signing key")
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}})
}

// oidcAuthorize checks an authorization request and sends the browser to
// the start page; the login answers it (answerOIDC). An unknown client or
// a redirect_uri that is not the registered one gets an error page, never
// a redirect; any other error goes back to the checked redirect_uri.
func (srv *Server) oidcAuthorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		srv.errorPage(w, r, http.StatusBadRequest, "Hibás OpenID Connect-kérés: "+firstLine(err.Error()))
		return
	}
	q := r.Form
	c, ok := srv.oidc.clients[q.Get("client_id")]
	if !ok {
		srv.errorPage(w, r, http.StatusBadRequest, "Ismeretlen alkalmazás (client_id): a mintában nincs regisztrálva (--oidc-client).")
		return
	}
	if q.Get("redirect_uri") != c.RedirectURI {
		srv.errorPage(w, r, http.StatusBadRequest, "A redirect_uri nem az alkalmazás regisztrált címe: a mock nem küldi oda a böngészőt.")
		return
	}
	req := oidcRequest{client: c, state: q.Get("state"), nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), scope: strings.Fields(q.Get("scope"))}
	if code, desc := checkAuthorize(q, req); code != "" {
		srv.oidcRedirect(w, r, req, url.Values{"error": {code}, "error_description": {desc}})
		return
	}
	var required []string
	if acr := strings.Fields(q.Get("acr_values")); len(acr) > 0 {
		required = requiredMethods(&saml.RequestedAuthnContext{AuthnContextClassRefs: acr, Comparison: "exact"})
		if len(required) == 0 {
			srv.oidcRedirect(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"no method of this provider satisfies acr_values"}})
			return
		}
	}
	s := srv.sessions.ensure(w, r)
	srv.sessions.update(s, func(s *session) { s.app = &appRequest{oidc: &req, required: required} })
	srv.redirect(w, r, "/")
}

// checkAuthorize returns the OAuth error of an authorization request
// whose client and redirect_uri are right, or "".
func checkAuthorize(q url.Values, req oidcRequest) (code, desc string) {
	method := q.Get("code_challenge_method")
	switch {
	case q.Get("response_type") != "code":
		return "unsupported_response_type", "only response_type=code (the authorization code flow) is supported"
	case !slices.Contains(req.scope, "openid"):
		return "invalid_scope", "scope must contain openid"
	case q.Has("request") || q.Has("request_uri"):
		return "request_not_supported", "request objects are not supported"
	case q.Get("prompt") == "none":
		return "login_required", "the mock keeps no login for apps: every request logs in"
	case len(req.state) > maxParamLen || len(req.nonce) > maxParamLen:
		return "invalid_request", "state or nonce is too long"
	case req.challenge == "" && method != "":
		return "invalid_request", "code_challenge_method without code_challenge"
	case req.challenge != "" && method != "S256":
		return "invalid_request", "code_challenge_method must be S256 (plain is refused)"
	case req.challenge != "" && !pkceValue(req.challenge, 43, 43):
		return "invalid_request", "code_challenge must be 43 base64url characters (S256)"
	case req.challenge == "" && req.client.Secret == "":
		return "invalid_request", "a public client must send a PKCE code_challenge (S256)"
	}
	return "", ""
}

// pkceValue tells whether s is min..max unreserved characters (RFC 7636).
func pkceValue(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range s {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

// oidcRedirect sends the browser back to the client's registered
// redirect URI with params, the state and the issuer (RFC 9207).
func (srv *Server) oidcRedirect(w http.ResponseWriter, r *http.Request, req oidcRequest, params url.Values) {
	u, _ := url.Parse(req.client.RedirectURI) // checked at registration
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	q.Set("iss", srv.origin(r))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// answerOIDC ends an app's login with a code, or with access_denied when
// the method used does not satisfy the request's acr_values.
func (srv *Server) answerOIDC(w http.ResponseWriter, r *http.Request, app *appRequest, l login) {
	if !app.offers(l.method) {
		srv.oidcRedirect(w, r, *app.oidc, url.Values{"error": {"access_denied"}, "error_description": {l.method.Name + " does not satisfy the acr_values of the request"}})
		return
	}
	code := srv.oidc.codes.put(srv.clockOf(r), oidcCode{req: *app.oidc, login: l}, codeValidFor)
	srv.oidcRedirect(w, r, *app.oidc, url.Values{"code": {code}})
}

// oauthError writes an OAuth 2.0 error response (RFC 6749 §5.2).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// tokenClient authenticates the client of a token request:
// client_secret_basic, client_secret_post, or none for a public client.
func (srv *Server) tokenClient(w http.ResponseWriter, r *http.Request) (OIDCClient, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id) // RFC 6749 §2.3.1: form-encoded first
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || (r.PostForm.Has("client_id") && r.PostForm.Get("client_id") != id) || r.PostForm.Has("client_secret") {
			oauthError(w, http.StatusBadRequest, "invalid_request", "client credentials are given twice or malformed")
			return OIDCClient{}, false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := srv.oidc.clients[id]
	good := ok && (c.Secret == "" && secret == "" ||
		c.Secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) == 1)
	if !good {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="kapu mockidp"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong client secret")
		return OIDCClient{}, false
	}
	return c, true
}

// oidcToken exchanges a code for an id_token and an access token.
func (srv *Server) oidcToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form: "+firstLine(err.Error()))
		return
	}
	c, ok := srv.tokenClient(w, r)
	if !ok {
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only grant_type=authorization_code is supported")
		return
	}
	code, clock, ok := srv.oidc.codes.get(r.PostForm.Get("code"), true) // once, right or wrong
	if err := checkCode(code, ok, c, r.PostForm); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	now := clock.Now()
	access := srv.oidc.tokens.put(clock, oidcToken{user: code.login.user, client: c.ID}, tokenValidFor)
	idToken, err := srv.idToken(r, code, access, now)
	if err != nil {
		srv.log.Error("oidc", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "the id_token could not be signed")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": int(tokenValidFor.Seconds()),
		"id_token": idToken, "scope": strings.Join(code.req.scope, " "),
	})
}

// checkCode checks a code against the token request that brings it.
func checkCode(code oidcCode, ok bool, c OIDCClient, form url.Values) error {
	verifier := form.Get("code_verifier")
	switch {
	case !ok:
		return errors.New("the code is unknown, used already or expired")
	case code.req.client.ID != c.ID:
		return errors.New("the code was given to another client")
	case form.Get("redirect_uri") != code.req.client.RedirectURI:
		return errors.New("redirect_uri differs from the authorization request's")
	case code.req.challenge == "" && verifier != "":
		return errors.New("code_verifier without a code_challenge in the authorization request")
	case code.req.challenge == "":
		return nil
	case verifier == "":
		return errors.New("code_verifier is missing (PKCE)")
	case !pkceValue(verifier, 43, 128):
		return errors.New("code_verifier must be 43 to 128 unreserved characters")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.req.challenge)) != 1 {
		return errors.New("code_verifier does not match the code_challenge")
	}
	return nil
}

// idToken signs the id_token of a code, RS256, times on the IdP clock.
func (srv *Server) idToken(r *http.Request, code oidcCode, access string, now time.Time) (string, error) {
	k, err := srv.jwk()
	if err != nil {
		return "", err
	}
	key, ok := srv.signer.Key.(*rsa.PrivateKey)
	if !ok {
		return "", errors.New("the signing key is not RSA")
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: k.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	info, _ := srv.store.Info(code.login.user)
	h := sha256.Sum256([]byte(access))
	claims := map[string]any{
		"iss": srv.origin(r), "sub": pairwiseID("oidc:"+code.req.client.ID, code.login.user), "aud": code.req.client.ID,
		"iat": now.Unix(), "exp": now.Add(validFor).Unix(), "auth_time": code.login.at.Unix(),
		"name": info.Name, "preferred_username": info.Username,
		"acr": code.login.method.ACR, "amr": code.login.method.AMR,
		"at_hash": base64.RawURLEncoding.EncodeToString(h[:16]),
	}
	if code.req.nonce != "" {
		claims["nonce"] = code.req.nonce
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// oidcUserinfo answers a Bearer access token with the user's claims.
func (srv *Server) oidcUserinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kapu mockidp"`)
		oauthError(w, http.StatusUnauthorized, "invalid_request", "an Authorization: Bearer access token is needed")
		return
	}
	t, _, ok := srv.oidc.tokens.get(strings.TrimSpace(tok), false)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "the access token is unknown or expired")
		return
	}
	info, _ := srv.store.Info(t.user)
	writeJSON(w, http.StatusOK, map[string]string{
		"sub": pairwiseID("oidc:"+t.client, t.user), "name": info.Name, "preferred_username": info.Username,
	})
}
