// Command rp is a small web app that logs its users in through an
// Ügyfélkapu-style identity provider (kapu's mock, or KAÜ itself), over
// SAML 2.0 (github.com/russellhaering/gosaml2) and OpenID Connect
// (github.com/coreos/go-oidc/v3 with golang.org/x/oauth2). It uses none of
// kapu's code: it is the kind of app kapu's flows test end to end.
//
//	go run ./examples/rp --addr 127.0.0.1:8081 --idp http://127.0.0.1:8090
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"time"
)

//go:embed page.html
var pageFS embed.FS

var page = template.Must(template.ParseFS(pageFS, "page.html"))

// config is what the app is told about itself and its identity provider.
type config struct {
	addr         string // where the app listens
	base         string // the app's URL, http://addr unless --base
	idp          string // the identity provider's base URL (its issuer)
	clientID     string
	clientSecret string
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8081", "listen address")
	flag.StringVar(&c.base, "base", "", "the app's URL as browsers reach it (default http://ADDR)")
	flag.StringVar(&c.idp, "idp", "http://127.0.0.1:8090", "the identity provider's base URL: SAML metadata at /saml/metadata, OpenID Connect issuer")
	flag.StringVar(&c.clientID, "client-id", "rp", "the app's OpenID Connect client ID")
	flag.StringVar(&c.clientSecret, "client-secret", os.Getenv("RP_CLIENT_SECRET"), "its client secret (default $RP_CLIENT_SECRET)")
	flag.Parse()
	if c.clientSecret == "" {
		c.clientSecret = "rp-titok"
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		log.Fatal(err)
	}
	if c.base == "" {
		c.base = "http://" + ln.Addr().String()
	}
	a, err := newApp(c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("rp: serving %s (identity provider %s)\n", c.base, c.idp)
	fmt.Printf("rp: SAML metadata at %s/saml/metadata; OpenID Connect redirect URI %s/oidc/callback\n", c.base, c.base)
	hs := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// app is the relying party: its logged-in users and pending logins.
type app struct {
	cfg  config
	mux  *http.ServeMux
	saml *samlSide
	oidc *oidcSide

	mu       sync.Mutex
	sessions map[string]*account // by cookie
}

// account is who logged in, as the identity provider said.
type account struct {
	Name, Username, Subject, ACR, Protocol string
	AMR                                    []string
}

func newApp(c config) (*app, error) {
	s, err := newSAMLSide(c)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: c, mux: http.NewServeMux(), saml: s, oidc: newOIDCSide(c), sessions: map[string]*account{}}
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("POST /kilepes", a.logout)
	a.mux.HandleFunc("GET /saml/metadata", a.saml.metadata)
	a.mux.HandleFunc("GET /saml/login", a.samlLogin)
	a.mux.HandleFunc("POST /saml/acs", a.samlACS)
	a.mux.HandleFunc("GET /oidc/login", a.oidcLogin)
	a.mux.HandleFunc("GET /oidc/callback", a.oidcCallback)
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("Cache-Control", "no-store")
	a.mux.ServeHTTP(w, r)
}

// methods names the identity provider's methods by their acr.
var methods = map[string]string{
	"urn:eksz.gov.hu:1.0:azonositas:kau:1:uk:uidpwd": "Ügyfélkapu",
	"urn:eksz.gov.hu:1.0:azonositas:kau:2:uk:totp":   "Ügyfélkapu+",
	"urn:eksz.gov.hu:1.0:azonositas:kau:3:dap:qr":    "DÁP",
}

const plusACR = "urn:eksz.gov.hu:1.0:azonositas:kau:2:uk:totp"

type view struct {
	Title   string
	Account *account
	Method  string
	Error   string
}

func (a *app) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		log.Print(err)
	}
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	if acc := a.account(r); acc != nil {
		a.render(w, http.StatusOK, view{Title: "Bejelentkezve", Account: acc, Method: methods[acc.ACR]})
		return
	}
	a.render(w, http.StatusOK, view{Title: "Példa szolgáltatás"})
}

// fail shows why a login did not succeed; the reason is the provider's or
// the library's, never a secret.
func (a *app) fail(w http.ResponseWriter, why string) {
	a.render(w, http.StatusForbidden, view{Title: "A bejelentkezés nem sikerült", Error: why})
}

func (a *app) account(r *http.Request) *account {
	c, err := r.Cookie("rp_session")
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

// login starts a session for acc: a new cookie, whatever came before.
func (a *app) login(w http.ResponseWriter, r *http.Request, acc *account) {
	id := random()
	a.mu.Lock()
	a.sessions[id] = acc
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "rp_session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("rp_session"); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "rp_session", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
