package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
)

// samlSide is the app as a SAML service provider (gosaml2). The identity
// provider's metadata is read at the first login, so the app may start
// before it.
type samlSide struct {
	cfg     config
	keys    dsig.X509KeyStore // the app's own key: the IdP encrypts assertions to it
	mu      sync.Mutex
	idp     *types.EntityDescriptor
	certs   dsig.MemoryX509CertificateStore
	pending map[string]time.Time // AuthnRequest IDs sent, to check InResponseTo
}

func newSAMLSide(c config) (*samlSide, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rp example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ks := dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
	return &samlSide{cfg: c, keys: &ks, pending: map[string]time.Time{}}, nil
}

// sp is the service provider; plus asks for Ügyfélkapu+ only.
func (s *samlSide) sp(plus bool) *saml2.SAMLServiceProvider {
	sp := &saml2.SAMLServiceProvider{
		ServiceProviderIssuer:       s.cfg.base + "/saml/metadata",
		AssertionConsumerServiceURL: s.cfg.base + "/saml/acs",
		AudienceURI:                 s.cfg.base + "/saml/metadata",
		SPKeyStore:                  s.keys,
		NameIdFormat:                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	}
	if s.idp != nil {
		sp.IdentityProviderIssuer = s.idp.EntityID
		sp.IDPCertificateStore = &s.certs
		for _, sso := range s.idp.IDPSSODescriptor.SingleSignOnServices {
			if sso.Binding == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" {
				sp.IdentityProviderSSOURL = sso.Location
			}
		}
	}
	if plus {
		sp.RequestedAuthnContext = &saml2.RequestedAuthnContext{Comparison: "exact", Contexts: []string{plusACR}}
	}
	return sp
}

func (s *samlSide) metadata(w http.ResponseWriter, r *http.Request) {
	md, err := s.sp(false).Metadata()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	xml.NewEncoder(w).Encode(md)
}

// readIdP fetches the identity provider's metadata once.
func (s *samlSide) readIdP() error {
	if s.idp != nil {
		return nil
	}
	res, err := http.Get(s.cfg.idp + "/saml/metadata")
	if err != nil {
		return fmt.Errorf("the identity provider's metadata: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	var md types.EntityDescriptor
	if err := xml.Unmarshal(raw, &md); err != nil || md.IDPSSODescriptor == nil {
		return fmt.Errorf("the identity provider's metadata: not IdP metadata (%v)", err)
	}
	for _, kd := range md.IDPSSODescriptor.KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
			if err != nil {
				return err
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return err
			}
			s.certs.Roots = append(s.certs.Roots, cert)
		}
	}
	s.idp = &md
	return nil
}

func (a *app) samlLogin(w http.ResponseWriter, r *http.Request) {
	s := a.saml
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.readIdP(); err != nil {
		a.fail(w, err.Error())
		return
	}
	sp := s.sp(r.URL.Query().Get("plusz") != "")
	doc, err := sp.BuildAuthRequestDocument()
	if err == nil {
		var u string
		if u, err = sp.BuildAuthURLFromDocument("", doc); err == nil {
			s.pending[doc.Root().SelectAttrValue("ID", "")] = time.Now()
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
	}
	a.fail(w, err.Error())
}

// samlACS takes the identity provider's Response: signature, audience,
// times and InResponseTo are checked before anyone is logged in.
func (a *app) samlACS(w http.ResponseWriter, r *http.Request) {
	s := a.saml
	s.mu.Lock()
	if s.idp == nil {
		s.mu.Unlock()
		a.fail(w, "no login was started")
		return
	}
	info, err := s.sp(false).RetrieveAssertionInfo(r.FormValue("SAMLResponse"))
	if err == nil {
		err = s.checkInfo(info)
	}
	s.mu.Unlock()
	if err != nil {
		a.fail(w, "SAML: "+err.Error())
		return
	}
	acc := &account{Name: info.Values.Get("name"), Username: info.Values.Get("username"), Subject: info.NameID, Protocol: "SAML 2.0"}
	for _, as := range info.Assertions {
		if ref := as.AuthnStatement.AuthnContext.AuthnContextClassRef; ref != nil {
			acc.ACR = ref.Value
		}
	}
	a.login(w, r, acc)
}

// checkInfo refuses what gosaml2 reports as warnings, and a Response to a
// request this app did not send (or sent more than 5 minutes ago).
func (s *samlSide) checkInfo(info *saml2.AssertionInfo) error {
	if info.WarningInfo.InvalidTime {
		return fmt.Errorf("the assertion is not valid now (NotBefore/NotOnOrAfter against this app's clock)")
	}
	if info.WarningInfo.NotInAudience {
		return fmt.Errorf("the assertion is for another audience")
	}
	for _, as := range info.Assertions {
		if as.Subject == nil || as.Subject.SubjectConfirmation == nil || as.Subject.SubjectConfirmation.SubjectConfirmationData == nil {
			continue
		}
		id := as.Subject.SubjectConfirmation.SubjectConfirmationData.InResponseTo
		sent, ok := s.pending[id]
		delete(s.pending, id)
		if ok && time.Since(sent) < 5*time.Minute {
			return nil
		}
	}
	return fmt.Errorf("the Response answers no request of this app")
}
