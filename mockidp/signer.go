package mockidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Signer is the mock's signing key and its certificate.
type Signer struct {
	Key  crypto.Signer
	Cert *x509.Certificate
}

// NewSigner makes an RSA 2048 key and a self-signed certificate for it.
func NewSigner() (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("make a signing key: %w", err)
	}
	return selfSigned(key)
}

// selfSigned makes a certificate for key, valid whatever the IdP clock.
func selfSigned(key *rsa.PrivateKey) (*Signer, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kapu mockidp"},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), // the IdP clock may be moved far
		NotAfter:     time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make a signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Signer{Key: key, Cert: cert}, nil
}

// LoadSigner reads --signing-key: a PEM file with an RSA private key
// (PKCS #1 or PKCS #8) and, optionally, its certificate; without one, a
// self-signed certificate is made for the key. Apps then keep trusting the
// mock across restarts.
func LoadSigner(file string) (*Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--signing-key: %w", err)
	}
	var key *rsa.PrivateKey
	var cert *x509.Certificate
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			var k any
			if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
				var ok bool
				if key, ok = k.(*rsa.PrivateKey); !ok {
					err = fmt.Errorf("a %T key: want RSA (RS256, RSA-SHA256)", k)
				}
			}
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(block.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("--signing-key %s: %s block: %w", file, block.Type, err)
		}
	}
	if key == nil {
		return nil, fmt.Errorf("--signing-key %s: no RSA PRIVATE KEY or PRIVATE KEY block in PEM", file)
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("--signing-key %s: a %d-bit key: want 2048 bits or more", file, key.N.BitLen())
	}
	if cert == nil {
		return selfSigned(key)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("--signing-key " + file + ": the certificate is not the key's")
	}
	return &Signer{Key: key, Cert: cert}, nil
}
