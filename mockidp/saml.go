package mockidp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"
)

// The mock as a SAML 2.0 identity provider (SPEC §8), with
// github.com/crewjam/saml doing the protocol: parsing and checking the
// AuthnRequest, the ACS, the signed Assertion. This file connects it to the
// mock's screens: a request leads to the start page, and the login that
// follows answers it.

// Method is how a user logged in, in the values SAML and OIDC report.
type Method struct {
	Name string
	ACR  string // AuthnContextClassRef / acr
	AMR  []string
}

// The methods of SPEC §8, weakest first.
var (
	MethodPassword = Method{"Ügyfélkapu", "urn:eksz.gov.hu:1.0:azonositas:kau:1:uk:uidpwd", []string{"pwd"}}
	MethodPlus     = Method{"Ügyfélkapu+", "urn:eksz.gov.hu:1.0:azonositas:kau:2:uk:totp", []string{"pwd", "otp", "mfa"}}
	MethodDAP      = Method{"DÁP", "urn:eksz.gov.hu:1.0:azonositas:kau:3:dap:qr", []string{"mfa", "swk"}}
)

// strengths ranks the methods for the minimum/better/maximum comparisons
// of a RequestedAuthnContext: Ügyfélkapu+ and DÁP are both two-factor.
var strengths = map[string]int{MethodPassword.ACR: 1, MethodPlus.ACR: 2, MethodDAP.ACR: 2}

// samlSPs holds the registered service providers: metadata files read at
// start, URLs fetched at first use (the app may start after the mock).
type samlSPs struct {
	mu     sync.Mutex
	byID   map[string]*saml.EntityDescriptor
	urls   []string // not fetched yet
	client *http.Client
}

func newSAMLSPs(sources []string) (*samlSPs, error) {
	sp := &samlSPs{byID: map[string]*saml.EntityDescriptor{}, client: &http.Client{Timeout: 10 * time.Second}}
	for _, src := range sources {
		if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
			sp.urls = append(sp.urls, src)
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("--saml-sp: %w", err)
		}
		if err := sp.add(b); err != nil {
			return nil, fmt.Errorf("--saml-sp %s: %w", src, err)
		}
	}
	return sp, nil
}

func (sp *samlSPs) add(b []byte) error {
	ed, err := samlsp.ParseMetadata(b)
	if err != nil {
		return fmt.Errorf("not SAML metadata: %w", err)
	}
	if ed.EntityID == "" || len(ed.SPSSODescriptors) == 0 {
		return errors.New("SAML metadata without an entityID and an SPSSODescriptor")
	}
	sp.byID[ed.EntityID] = ed
	return nil
}

// fetch reads the metadata of the SPs registered by URL that are not read
// yet; one that cannot be read is tried again next time.
func (sp *samlSPs) fetch(ctx context.Context) {
	var left []string
	for _, u := range sp.urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			continue
		}
		res, err := sp.client.Do(req)
		if err != nil {
			left = append(left, u)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || sp.add(b) != nil {
			left = append(left, u)
		}
	}
	sp.urls = left
}

// GetServiceProvider implements saml.ServiceProviderProvider.
func (sp *samlSPs) GetServiceProvider(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if ed, ok := sp.byID[id]; ok {
		return ed, nil
	}
	if len(sp.urls) > 0 {
		sp.fetch(r.Context())
		if ed, ok := sp.byID[id]; ok {
			return ed, nil
		}
	}
	return nil, os.ErrNotExist
}

// samlClock is one request's clock for crewjam/saml. The AuthnRequest is
// checked against the wall time it came at (its IssueInstant is the app's
// clock, and a login that took a while answers the request as it came);
// once the login answers it (GetSession), the Response and Assertion are
// made on the IdP clock, which flows move.
type samlClock struct {
	clockwork.Clock
	mu   sync.Mutex
	came time.Time // zero: the IdP clock
	idp  *Clock
}

func (c *samlClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.came.IsZero() {
		return c.came
	}
	return c.idp.Now()
}

// answer switches to the IdP clock.
func (c *samlClock) answer() time.Time {
	c.mu.Lock()
	c.came = time.Time{}
	c.mu.Unlock()
	return c.idp.Now()
}

func (c *samlClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *samlClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// cameKey carries the wall time a saved request first came at.
type cameKey struct{}

// validFor is how long an assertion is valid: SPEC §8 asks for 5 minutes
// at least, so that apps with the usual skew accept it.
const validFor = 5 * time.Minute

// idp is the SAML identity provider as seen from r: its URLs are on the
// mock's origin (the public URL behind a proxy).
func (srv *Server) idp(r *http.Request) (*saml.IdentityProvider, error) {
	if err := srv.signing(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(srv.origin(r))
	valid := validFor
	clk := &samlClock{Clock: clockwork.NewRealClock(), came: time.Now(), idp: srv.clockOf(r)}
	if came, ok := r.Context().Value(cameKey{}).(time.Time); ok {
		clk.came = came
	}
	return &saml.IdentityProvider{
		Key:                          srv.signer.Key,
		Signer:                       srv.signer.Key,
		Certificate:                  srv.signer.Cert,
		MetadataURL:                  *base.JoinPath("/saml/metadata"),
		SSOURL:                       *base.JoinPath("/saml/sso"),
		ServiceProviderProvider:      srv.samlSPs,
		SessionProvider:              samlSessions{srv, clk},
		ResponseWriter:               samlResponseWriter{srv},
		SignatureMethod:              dsig.RSASHA256SignatureMethod,
		ValidDuration:                &valid,
		Clock:                        dsig.NewFakeClock(clk),
		NameIDFormats:                []saml.NameIDFormat{saml.PersistentNameIDFormat},
		EnforceRequestedAuthnContext: true,
		AuthnContextClassStrengths:   strengths,
		OnError:                      srv.samlError,
	}, nil
}

// signing makes the signing key at first use, unless one was given.
func (srv *Server) signing() error {
	srv.signOnce.Do(func() {
		if srv.signer = srv.opts.Signer; srv.signer == nil {
			srv.signer, srv.signErr = NewSigner()
		}
	})
	return srv.signErr
}

// serveIdP answers r with the SAML identity provider's serve.
func (srv *Server) serveIdP(w http.ResponseWriter, r *http.Request, serve func(*saml.IdentityProvider, http.ResponseWriter, *http.Request)) {
	idp, err := srv.idp(r)
	if err != nil {
		srv.log.Error("saml", "err", err)
		srv.errorPage(w, r, http.StatusInternalServerError, "A SAML-aláíró kulcs nem készíthető el.")
		return
	}
	serve(idp, w, r)
}

func (srv *Server) samlError(w http.ResponseWriter, r *http.Request, status int, err error) {
	srv.log.Info("saml", "status", status, "err", err)
	msg := "A szolgáltató SAML-kérése nem teljesíthető."
	switch {
	case errors.Is(err, saml.ErrUnknownServiceProvider) || errors.Is(err, os.ErrNotExist):
		msg = "Ismeretlen szolgáltató: a mintában nincs regisztrálva (--saml-sp)."
	case status == http.StatusBadRequest:
		msg = "Hibás SAML-kérés: " + firstLine(err.Error())
	}
	srv.errorPage(w, r, status, msg)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// appRequest is an app's login request that the user's login will answer.
type appRequest struct {
	saml     *savedSAML
	oidc     *oidcRequest
	required []string // the methods' ACRs that satisfy it; nil: any
}

// formTarget is where a form's redirect may lead while a is pending: the
// OIDC client's redirect URI (Chromium checks form-action along the
// redirects of a form post). As a CSP source: no query, and ; , escaped.
func (a *appRequest) formTarget() string {
	if a == nil || a.oidc == nil {
		return ""
	}
	u, err := url.Parse(a.oidc.client.RedirectURI)
	if err != nil {
		return ""
	}
	path := strings.NewReplacer(";", "%3B", ",", "%2C").Replace(u.EscapedPath())
	return u.Scheme + "://" + u.Host + path
}

// savedSAML is an AuthnRequest as it came, to be served again after the
// login: the binding's method and its parameters.
type savedSAML struct {
	method string
	came   time.Time  // wall time
	query  string     // HTTP-Redirect
	form   url.Values // HTTP-POST
}

// samlSessions implements saml.SessionProvider: the first time a request
// comes, the user logs in on the mock's screens; when the login answers it
// (answerSAML), the session it made is given.
type samlSessions struct {
	srv *Server
	clk *samlClock
}

type loginKey struct{}

// login is what a finished login gives the SAML and OIDC answers.
type login struct {
	user   string
	method Method
	at     time.Time
}

func (p samlSessions) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	srv := p.srv
	if l, ok := r.Context().Value(loginKey{}).(login); ok {
		req.Now = p.clk.answer()
		info, _ := srv.store.Info(l.user)
		return &saml.Session{
			ID: randomHex(16), CreateTime: l.at, ExpireTime: l.at.Add(8 * time.Hour), Index: randomHex(16),
			NameID: pairwiseID(req.ServiceProviderMetadata.EntityID, l.user), NameIDFormat: string(saml.PersistentNameIDFormat),
			UserName: info.Username, UserCommonName: info.Name,
			AuthnContextClassRef: l.method.ACR,
			CustomAttributes: []saml.Attribute{
				{FriendlyName: "name", Name: "name", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", Values: []saml.AttributeValue{{Type: "xs:string", Value: info.Name}}},
				{FriendlyName: "username", Name: "username", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", Values: []saml.AttributeValue{{Type: "xs:string", Value: info.Username}}},
			},
		}
	}
	saved := &savedSAML{method: r.Method, came: time.Now()}
	if r.Method == http.MethodPost {
		saved.form = url.Values{}
		for _, k := range []string{"SAMLRequest", "RelayState", "SigAlg", "Signature"} {
			if v, ok := r.PostForm[k]; ok {
				saved.form[k] = v
			}
		}
	} else {
		saved.query = r.URL.RawQuery
	}
	s := srv.sessions.ensure(w, r)
	required := requiredMethods(req.Request.RequestedAuthnContext)
	srv.sessions.update(s, func(s *session) { s.app = &appRequest{saml: saved, required: required} })
	srv.redirect(w, r, "/")
	return nil
}

// pairwiseID is the persistent NameID of a user for one SP: stable, and
// not the username itself.
func pairwiseID(spEntityID, user string) string {
	h := sha256.Sum256([]byte("kapu-nameid\x00" + spEntityID + "\x00" + user))
	return hex.EncodeToString(h[:16])
}

// requiredMethods lists the ACRs of the methods that satisfy a
// RequestedAuthnContext, by the comparisons of saml-core §3.3.2.2.1; nil
// when any method does.
func requiredMethods(rac *saml.RequestedAuthnContext) []string {
	if rac == nil || len(rac.AuthnContextClassRefs) == 0 {
		return nil
	}
	var out []string
	for _, m := range []Method{MethodPassword, MethodPlus, MethodDAP} {
		for _, want := range rac.AuthnContextClassRefs {
			ws, ranked := strengths[want]
			ok := false
			switch rac.Comparison {
			case "", "exact":
				ok = m.ACR == want
			case "minimum":
				ok = ranked && strengths[m.ACR] >= ws
			case "better":
				ok = ranked && strengths[m.ACR] > ws
			case "maximum":
				ok = ranked && strengths[m.ACR] <= ws
			}
			if ok && !slices.Contains(out, m.ACR) {
				out = append(out, m.ACR)
			}
		}
	}
	if out == nil {
		out = []string{} // nothing satisfies it: offer nothing
	}
	return out
}

// offers tells whether the app request in s (if any) may be answered by m.
func (a *appRequest) offers(m Method) bool {
	return a == nil || a.required == nil || slices.Contains(a.required, m.ACR)
}

// samlResponseWriter posts the Response to the ACS with a form that
// submits itself through a static script (no inline script under the
// CSP), and lets that one page's form go to the ACS's origin.
type samlResponseWriter struct{ srv *Server }

func (rw samlResponseWriter) WriteResponse(w http.ResponseWriter, req *saml.IdpAuthnRequest) error {
	form, err := req.PostBinding()
	if err != nil {
		return err
	}
	acs, err := url.Parse(form.URL)
	if err != nil || (acs.Scheme != "http" && acs.Scheme != "https") {
		return fmt.Errorf("ACS %q: not an http(s) URL", form.URL)
	}
	w.Header().Set("Content-Security-Policy", cspWithFormAction(acs.Scheme+"://"+acs.Host))
	rw.srv.render(w, http.StatusOK, "samlpost", nil, page{
		Title: "Visszatérés a szolgáltatóhoz", Heading: "Visszatérés a szolgáltatóhoz",
		Action: form.URL, SAMLResponse: form.SAMLResponse, RelayState: form.RelayState,
	})
	return nil
}

// samlRoutes serves the metadata and the SSO service.
func (srv *Server) samlRoutes() {
	srv.mux.HandleFunc("GET /saml/metadata", func(w http.ResponseWriter, r *http.Request) {
		srv.serveIdP(w, r, (*saml.IdentityProvider).ServeMetadata)
	})
	sso := func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
			if err := r.ParseForm(); err != nil {
				srv.errorPage(w, r, http.StatusBadRequest, "Hibás SAML-kérés.")
				return
			}
		}
		srv.serveIdP(w, r, (*saml.IdentityProvider).ServeSSO)
	}
	srv.mux.HandleFunc("GET /saml/sso", sso)
	srv.mux.HandleFunc("POST /saml/sso", sso)
	srv.handle("/saml/folytatas", srv.answerSAML, nil)
}

// answerSAML serves the app's saved request again, now with the login of
// the session: the user goes straight back to the app.
func (srv *Server) answerSAML(w http.ResponseWriter, r *http.Request, s *session) {
	var app *appRequest
	var l login
	srv.sessions.update(s, func(s *session) {
		app, s.app = s.app, nil
		l, s.answer = s.answer, login{}
	})
	if app == nil || app.saml == nil || l.user == "" {
		srv.redirect(w, r, "/")
		return
	}
	saved := app.saml
	r2 := r.Clone(context.WithValue(context.WithValue(r.Context(), loginKey{}, l), cameKey{}, saved.came))
	if saved.method == http.MethodPost {
		body := saved.form.Encode()
		r2.Method = http.MethodPost
		r2.Body = io.NopCloser(bytes.NewReader([]byte(body)))
		r2.ContentLength = int64(len(body))
		r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r2.PostForm, r2.Form = saved.form, nil
		r2.ParseForm()
	} else {
		r2.Method = http.MethodGet
		r2.URL.RawQuery = saved.query
		r2.Form, r2.PostForm = nil, nil
	}
	r2.URL.Path = "/saml/sso"
	srv.serveIdP(w, r2, (*saml.IdentityProvider).ServeSSO)
}
