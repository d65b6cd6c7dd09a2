package mockidp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/mockidp"
)

func pemFile(t *testing.T, blocks ...*pem.Block) string {
	t.Helper()
	var b []byte
	for _, bl := range blocks {
		b = append(b, pem.EncodeToMemory(bl)...)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// --signing-key: the same key across restarts, so an app keeps trusting
// the mock; anything but an RSA key of 2048 bits or more is refused.
func TestLoadSigner(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := mockidp.NewSigner()
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	pkcs1 := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}

	for _, p := range []string{pemFile(t, pkcs1), pemFile(t, &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})} {
		s, err := mockidp.LoadSigner(p)
		if err != nil || !s.Cert.PublicKey.(*rsa.PublicKey).Equal(&key.PublicKey) {
			t.Fatalf("%v", err)
		}
		// The metadata carries the key's certificate.
		m := newMock(t, mockidp.Options{Signer: s})
		c := m.client(t).get("/saml/metadata")
		if !strings.Contains(strings.Join(strings.Fields(c.page), ""), base64.StdEncoding.EncodeToString(s.Cert.Raw)[:200]) {
			t.Error("the metadata does not carry the given key's certificate")
		}
	}
	for name, tt := range map[string]struct {
		file, want string
	}{
		"missing":      {filepath.Join(t.TempDir(), "nincs.pem"), "no such file"},
		"no key":       {pemFile(t, &pem.Block{Type: "CERTIFICATE", Bytes: other.Cert.Raw}), "no RSA PRIVATE KEY"},
		"not PEM":      {pemFile(t), "no RSA PRIVATE KEY"},
		"other's cert": {pemFile(t, pkcs1, &pem.Block{Type: "CERTIFICATE", Bytes: other.Cert.Raw}), "not the key's"},
		"small":        {pemFile(t, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}), "1024-bit"},
		"EC":           {pemFile(t, &pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), "want RSA"},
	} {
		if _, err := mockidp.LoadSigner(tt.file); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
}
