package mockidp_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/kapu-dev/kapu/mockidp"
	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
)

// These tests are the app: github.com/russellhaering/gosaml2, a SAML
// service provider that shares no code with the mock, checks every
// Response it gets (signature, audience, times, status).

const (
	appEntity = "https://app.example/saml"
	appACS    = "https://app.example/saml/acs"

	// plainApp has no encryption key: its assertions come in the clear.
	plainEntity   = "https://plain.example/saml"
	plainACS      = "https://plain.example/acs"
	plainMetadata = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + plainEntity + `">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAssertionsSigned="true">
  <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + plainACS + `" index="1"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>`
)

var (
	reSAMLResponse = regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`)
	reRelayState   = regexp.MustCompile(`name="RelayState" value="([^"]+)"`)
	reFormAction   = regexp.MustCompile(`<form method="post" action="([^"]+)" id="saml-valasz"`)
)

// samlMock serves the mock with the test app registered by its metadata
// file, and returns the app (gosaml2) set up from the mock's metadata.
func samlMock(t *testing.T) (*mock, *saml2.SAMLServiceProvider, *saml2.SAMLServiceProvider) {
	t.Helper()
	sp := &saml2.SAMLServiceProvider{
		ServiceProviderIssuer:       appEntity,
		AssertionConsumerServiceURL: appACS,
		AudienceURI:                 appEntity,
		SignAuthnRequests:           false,
		SPKeyStore:                  dsig.RandomKeyStoreForTest(), // metadata with an encryption key: accepted
		NameIdFormat:                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	}
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	b, err := xml.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "app.xml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	plainFile := filepath.Join(t.TempDir(), "plain.xml")
	if err := os.WriteFile(plainFile, []byte(plainMetadata), 0o644); err != nil {
		t.Fatal(err)
	}
	// The app's clock is the wall clock: the IdP's starts there, frozen.
	m := newMock(t, mockidp.Options{Skew: 1, SAMLSPs: []string{file, plainFile}, Clock: mockidp.FrozenClock(time.Now().UTC())})

	// The app reads the IdP's metadata, as a real one would.
	res, err := http.Get(m.URL + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var idp types.EntityDescriptor
	raw, _ := io.ReadAll(res.Body)
	if err := xml.Unmarshal(raw, &idp); err != nil || idp.IDPSSODescriptor == nil {
		t.Fatalf("IdP metadata: %v\n%s", err, raw)
	}
	if idp.EntityID != m.URL+"/saml/metadata" {
		t.Errorf("entityID %q", idp.EntityID)
	}
	certs := dsig.MemoryX509CertificateStore{}
	for _, kd := range idp.IDPSSODescriptor.KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			der, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			certs.Roots = append(certs.Roots, cert)
		}
	}
	for _, s := range idp.IDPSSODescriptor.SingleSignOnServices {
		if s.Binding == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" {
			sp.IdentityProviderSSOURL = s.Location
		}
	}
	if sp.IdentityProviderSSOURL == "" || len(certs.Roots) == 0 {
		t.Fatalf("IdP metadata lacks an HTTP-Redirect SSO service or a signing certificate:\n%s", raw)
	}
	sp.IdentityProviderIssuer = idp.EntityID
	sp.IDPCertificateStore = &certs
	plain := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL: sp.IdentityProviderSSOURL, IdentityProviderIssuer: sp.IdentityProviderIssuer,
		ServiceProviderIssuer: plainEntity, AssertionConsumerServiceURL: plainACS, AudienceURI: plainEntity,
		IDPCertificateStore: &certs,
	}
	return m, sp, plain
}

// startSAML sends c to the mock with the app's AuthnRequest (HTTP-Redirect)
// and returns the request's ID.
func startSAML(t *testing.T, sp *saml2.SAMLServiceProvider, c *client, relay string) string {
	t.Helper()
	doc, err := sp.BuildAuthRequestDocument()
	if err != nil {
		t.Fatal(err)
	}
	u, err := sp.BuildAuthURLFromDocument(relay, doc)
	if err != nil {
		t.Fatal(err)
	}
	c.get(strings.TrimPrefix(u, c.base))
	return doc.Root().SelectAttrValue("ID", "")
}

// answer reads the mock's auto-submitting form: the Response and RelayState.
func answer(t *testing.T, c *client) (response, relay string) {
	t.Helper()
	m := reSAMLResponse.FindStringSubmatch(c.page)
	if m == nil {
		t.Fatalf("no SAML Response form; h1 %q alert %q", c.h1(), c.alert())
	}
	if a := reFormAction.FindStringSubmatch(c.page); a == nil || (html.UnescapeString(a[1]) != appACS && html.UnescapeString(a[1]) != plainACS) {
		t.Errorf("the form goes to %v, want a registered ACS", a)
	}
	if r := reRelayState.FindStringSubmatch(c.page); r != nil {
		relay = html.UnescapeString(r[1])
	}
	return html.UnescapeString(m[1]), relay
}

func authnContext(info *saml2.AssertionInfo) string {
	for _, a := range info.Assertions {
		if a.AuthnStatement.AuthnContext.AuthnContextClassRef != nil {
			return a.AuthnStatement.AuthnContext.AuthnContextClassRef.Value
		}
	}
	return ""
}

func TestSAMLLogin(t *testing.T) {
	t.Parallel()
	m, sp, _ := samlMock(t)
	u := m.newUser(t)
	secret, _ := m.enroll(t, u) // enrolling stays on the mock (SPEC §8)

	var nameIDs []string
	for _, tt := range []struct {
		method string
		login  func(c *client)
		acr    string
	}{
		{"Ügyfélkapu+", func(c *client) {
			c.get("/plusz").post("/plusz", "username", u.Username, "password", u.Password)
			c.post("/plusz/kod", "code", codeAt(t, secret, m.srv.Clock().Now()))
		}, mockidp.MethodPlus.ACR},
		{"Ügyfélkapu", func(c *client) {
			c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
		}, mockidp.MethodPassword.ACR},
		{"DÁP", func(c *client) {
			phone := m.client(t)
			p := dapURL(t, c)
			phone.get(p).post(p, "username", u.Username, "password", u.Password)
			c.get("/dap/allapot")
		}, mockidp.MethodDAP.ACR},
	} {
		c := m.client(t)
		id := startSAML(t, sp, c, "vissza-ide/"+tt.method)
		c.wantH1("Bejelentkezés") // the method picker
		tt.login(c)
		m.srv.Clock().Advance(31 * time.Second) // the next login's code is of a new step
		resp, relay := answer(t, c)
		info, err := sp.RetrieveAssertionInfo(resp)
		if err != nil {
			t.Fatalf("%s: the app refuses the Response: %v", tt.method, err)
		}
		if info.WarningInfo.InvalidTime || info.WarningInfo.NotInAudience {
			t.Errorf("%s: warnings %+v", tt.method, info.WarningInfo)
		}
		if got := info.Values.Get("name"); got != u.Name {
			t.Errorf("%s: name %q, want %q", tt.method, got, u.Name)
		}
		if got := info.Values.Get("username"); got != u.Username {
			t.Errorf("%s: username %q, want %q", tt.method, got, u.Username)
		}
		if got := authnContext(info); got != tt.acr {
			t.Errorf("%s: AuthnContextClassRef %q, want %q", tt.method, got, tt.acr)
		}
		if relay != "vissza-ide/"+tt.method {
			t.Errorf("%s: RelayState %q", tt.method, relay)
		}
		xmlResp, _ := base64.StdEncoding.DecodeString(resp)
		if !strings.Contains(string(xmlResp), `InResponseTo="`+id+`"`) || !strings.Contains(string(xmlResp), `Destination="`+appACS+`"`) {
			t.Errorf("%s: Response lacks InResponseTo=%s or Destination", tt.method, id)
		}
		if info.NameIDFormat != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" || info.NameID == "" || info.NameID == u.Username {
			t.Errorf("%s: NameID %q (%s): want a persistent, opaque one", tt.method, info.NameID, info.NameIDFormat)
		}
		nameIDs = append(nameIDs, info.NameID)
	}
	if nameIDs[0] != nameIDs[1] || nameIDs[1] != nameIDs[2] {
		t.Errorf("NameIDs differ between logins of one user: %v", nameIDs)
	}
}

// An app that asks for Ügyfélkapu+ gets no success from a password-only
// login: the method is not offered, and if chosen anyway the Response is
// an error.
func TestSAMLRequestedAuthnContext(t *testing.T) {
	t.Parallel()
	m, sp, _ := samlMock(t)
	sp.RequestedAuthnContext = &saml2.RequestedAuthnContext{Comparison: "exact", Contexts: []string{mockidp.MethodPlus.ACR}}
	u := m.newUser(t)
	c := m.client(t)
	startSAML(t, sp, c, "")
	if strings.Contains(c.page, `href="/ugyfelkapu"`) {
		t.Error("the start page offers the password-only Ügyfélkapu to an app that asked for Ügyfélkapu+")
	}
	if !strings.Contains(c.page, `href="/plusz"`) {
		t.Error("the start page does not offer Ügyfélkapu+")
	}
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	resp, _ := answer(t, c)
	if info, err := sp.RetrieveAssertionInfo(resp); err == nil {
		t.Errorf("a password-only login satisfied a request for Ügyfélkapu+: %+v", info.Values)
	}
}

// Requests the mock must refuse with an error page, never a redirect.
func TestSAMLBadRequests(t *testing.T) {
	t.Parallel()
	m, sp, _ := samlMock(t)
	variant := func(issuer, acs string) *saml2.SAMLServiceProvider {
		return &saml2.SAMLServiceProvider{IdentityProviderSSOURL: sp.IdentityProviderSSOURL, IdentityProviderIssuer: sp.IdentityProviderIssuer,
			ServiceProviderIssuer: issuer, AssertionConsumerServiceURL: acs, AudienceURI: issuer}
	}
	for name, s := range map[string]*saml2.SAMLServiceProvider{
		"unknown SP":       variant("https://stranger.example/saml", appACS),
		"unregistered ACS": variant(appEntity, "https://evil.example/acs"),
	} {
		doc, _ := s.BuildAuthRequestDocument()
		u, _ := s.BuildAuthURLFromDocument("", doc)
		res, err := http.DefaultTransport.RoundTrip(mustGet(t, u))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want 400 and no redirect", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
	for name, q := range map[string]string{
		"no request":      "",
		"not base64":      "SAMLRequest=%%%",
		"not deflate":     "SAMLRequest=" + base64.StdEncoding.EncodeToString([]byte("nem xml")),
		"huge RelayState": "SAMLRequest=x&RelayState=" + strings.Repeat("a", 100),
	} {
		res, err := http.DefaultTransport.RoundTrip(mustGet(t, m.URL+"/saml/sso?"+q))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("%s: %d, want 400 and no redirect", name, res.StatusCode)
		}
	}
}

// A Response changed on the way is refused by the app.
func TestSAMLTamperedRefused(t *testing.T) {
	t.Parallel()
	m, sp, _ := samlMock(t)
	_, resp := passwordLogin(t, m, sp)
	raw, _ := base64.StdEncoding.DecodeString(resp)
	// The assertion is encrypted for the app (its metadata has a key): flip
	// one character of its cipher text, then one of the Response's
	// signed attributes.
	for name, re := range map[string]*regexp.Regexp{
		"the encrypted assertion": regexp.MustCompile(`(<xenc:CipherValue>)([A-Za-z0-9])`),
		"the Response":            regexp.MustCompile(`(Destination=")(h)`),
	} {
		out := re.ReplaceAllStringFunc(string(raw), func(m string) string {
			sub := re.FindStringSubmatch(m)
			c := "B"
			if sub[2] == "B" {
				c = "C"
			}
			return sub[1] + c
		})
		if out == string(raw) {
			t.Fatalf("%s: nothing to change", name)
		}
		if _, err := sp.RetrieveAssertionInfo(base64.StdEncoding.EncodeToString([]byte(out))); err == nil {
			t.Errorf("the app accepted a Response with %s changed", name)
		}
	}
	if _, err := sp.RetrieveAssertionInfo(resp); err != nil {
		t.Errorf("the untouched Response is refused: %v", err)
	}
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// The Assertion itself is signed, not only the Response around it:
// careful apps refuse the latter (seen in the clear, for an app without
// an encryption key).
func TestSAMLAssertionSigned(t *testing.T) {
	t.Parallel()
	m, _, plain := samlMock(t)
	_, resp := passwordLogin(t, m, plain)
	info, err := plain.RetrieveAssertionInfo(resp)
	if err != nil {
		t.Fatalf("the app refuses the Response: %v", err)
	}
	if len(info.Assertions) != 1 || info.NameID == "" {
		t.Fatalf("assertions: %+v", info.Assertions)
	}
	// gosaml2 checks the Response's signature; the Assertion's own one is
	// looked for in the XML: an enveloped ds:Signature, RSA-SHA256.
	raw, _ := base64.StdEncoding.DecodeString(resp)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	a := doc.Root().SelectElement("Assertion")
	if a == nil {
		t.Fatal("no Assertion in the Response")
	}
	sig := a.SelectElement("Signature")
	if sig == nil || !strings.Contains(sig.FindElement(".//SignatureMethod").SelectAttrValue("Algorithm", ""), "rsa-sha256") {
		t.Error("the Assertion itself is not signed with RSA-SHA256")
	}
}

// passwordLogin logs a new user in to sp with the password-only
// Ügyfélkapu and returns the Response the app gets.
func passwordLogin(t *testing.T, m *mock, sp *saml2.SAMLServiceProvider) (user, string) {
	t.Helper()
	u := m.newUser(t)
	c := m.client(t)
	startSAML(t, sp, c, "")
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	resp, _ := answer(t, c)
	return u, resp
}

// An SP registered by URL is read when its first request comes (the app
// may start after the mock), and an AuthnRequest may come by HTTP-POST.
func TestSAMLPostBindingAndSPByURL(t *testing.T) {
	t.Parallel()
	var fetched atomic.Int32
	mdURL := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		io.WriteString(w, plainMetadata)
	})) + "/metadata.xml"
	m := newMock(t, mockidp.Options{Skew: 1, SAMLSPs: []string{mdURL}, Clock: mockidp.FrozenClock(time.Now().UTC())})
	if fetched.Load() != 0 {
		t.Error("the SP's metadata was fetched at start, not at first use")
	}
	var idp types.EntityDescriptor
	c := m.client(t).get("/saml/metadata")
	if err := xml.Unmarshal([]byte(c.page), &idp); err != nil || idp.IDPSSODescriptor == nil {
		t.Fatalf("IdP metadata: %v", err)
	}
	bindings := map[string]string{}
	for _, s := range idp.IDPSSODescriptor.SingleSignOnServices {
		bindings[s.Binding] = s.Location
	}
	post := bindings["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"]
	if post != m.URL+"/saml/sso" || bindings["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"] != post {
		t.Fatalf("SSO services %v: want HTTP-Redirect and HTTP-POST at /saml/sso", bindings)
	}
	sp := &saml2.SAMLServiceProvider{IdentityProviderSSOURL: post, IdentityProviderIssuer: idp.EntityID,
		ServiceProviderIssuer: plainEntity, AssertionConsumerServiceURL: plainACS, AudienceURI: plainEntity}
	doc, err := sp.BuildAuthRequestDocument()
	if err != nil {
		t.Fatal(err)
	}
	xmlReq, _ := doc.WriteToString()
	u := m.newUser(t)
	c = m.client(t)
	c.postRaw("/saml/sso", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(xmlReq))}, "RelayState": {"post-vissza"}})
	c.wantH1("Bejelentkezés")
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	resp, relay := answer(t, c)
	raw, _ := base64.StdEncoding.DecodeString(resp)
	if relay != "post-vissza" || !strings.Contains(string(raw), `InResponseTo="`+doc.Root().SelectAttrValue("ID", "")+`"`) {
		t.Errorf("RelayState %q; Response %.300s", relay, raw)
	}
	if fetched.Load() != 1 {
		t.Errorf("metadata fetched %d times, want once", fetched.Load())
	}
}

// The app's request is checked against the wall time it came at (its
// IssueInstant is the app's clock); the answer is made on the IdP clock,
// which a flow moved meanwhile by more than the 90 s a request may wait.
func TestSAMLTimes(t *testing.T) {
	t.Parallel()
	m, _, plain := samlMock(t)
	u := m.newUser(t)
	c := m.client(t)
	startSAML(t, plain, c, "")
	m.srv.Clock().Advance(2 * time.Minute)
	c.get("/ugyfelkapu").post("/ugyfelkapu", "username", u.Username, "password", u.Password)
	resp, _ := answer(t, c)
	info, err := plain.RetrieveAssertionInfo(resp)
	if err != nil || info.WarningInfo.InvalidTime {
		t.Fatalf("the app refuses the Response: %v %+v", err, info)
	}
	raw, _ := base64.StdEncoding.DecodeString(resp)
	want := m.srv.Clock().Now().Format("2006-01-02T15:04:05")
	if !strings.Contains(string(raw), `IssueInstant="`+want) {
		t.Errorf("the Response's IssueInstant is not the IdP clock's %s:\n%.400s", want, raw)
	}
}
