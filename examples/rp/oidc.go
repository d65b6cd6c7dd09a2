package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// oidcSide is the app as an OpenID Connect client (go-oidc + x/oauth2):
// a confidential client that also sends PKCE. Discovery happens at the
// first login, so the app may start before its provider.
type oidcSide struct {
	cfg      config
	mu       sync.Mutex
	provider *oidc.Provider
	pending  map[string]pendingLogin // by state
}

type pendingLogin struct {
	nonce, verifier string
	at              time.Time
}

func newOIDCSide(c config) *oidcSide {
	return &oidcSide{cfg: c, pending: map[string]pendingLogin{}}
}

func (o *oidcSide) oauth(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		p, err := oidc.NewProvider(ctx, o.cfg.idp)
		if err != nil {
			return nil, nil, fmt.Errorf("the identity provider's discovery: %w", err)
		}
		o.provider = p
	}
	return &oauth2.Config{
		ClientID: o.cfg.clientID, ClientSecret: o.cfg.clientSecret, Endpoint: o.provider.Endpoint(),
		RedirectURL: o.cfg.base + "/oidc/callback", Scopes: []string{oidc.ScopeOpenID, "profile"},
	}, o.provider.Verifier(&oidc.Config{ClientID: o.cfg.clientID}), nil
}

func (a *app) oidcLogin(w http.ResponseWriter, r *http.Request) {
	conf, _, err := a.oidc.oauth(r.Context())
	if err != nil {
		a.fail(w, err.Error())
		return
	}
	state, p := random(), pendingLogin{nonce: random(), verifier: oauth2.GenerateVerifier(), at: time.Now()}
	a.oidc.mu.Lock()
	a.oidc.pending[state] = p
	a.oidc.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "rp_state", Value: state, Path: "/oidc/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(p.verifier)}
	if r.URL.Query().Get("plusz") != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", plusACR))
	}
	http.Redirect(w, r, conf.AuthCodeURL(state, opts...), http.StatusSeeOther)
}

// oidcCallback checks the state against this browser's, exchanges the
// code and verifies the id_token (signature, issuer, audience, expiry,
// nonce) before anyone is logged in.
func (a *app) oidcCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie("rp_state")
	if err != nil || c.Value != q.Get("state") {
		a.fail(w, "OpenID Connect: the state is not this browser's")
		return
	}
	a.oidc.mu.Lock()
	p, ok := a.oidc.pending[c.Value]
	delete(a.oidc.pending, c.Value)
	a.oidc.mu.Unlock()
	if !ok || time.Since(p.at) > 10*time.Minute {
		a.fail(w, "OpenID Connect: no login of this browser is pending")
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, "OpenID Connect: "+e+": "+q.Get("error_description"))
		return
	}
	conf, verifier, err := a.oidc.oauth(r.Context())
	if err != nil {
		a.fail(w, err.Error())
		return
	}
	tok, err := conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.fail(w, "OpenID Connect: "+err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(r.Context(), raw)
	if err == nil && idt.Nonce != p.nonce {
		err = fmt.Errorf("the nonce is not this login's")
	}
	var cl struct {
		Name     string   `json:"name"`
		Username string   `json:"preferred_username"`
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
	}
	if err == nil {
		err = idt.Claims(&cl)
	}
	if err != nil {
		a.fail(w, "OpenID Connect: "+err.Error())
		return
	}
	a.login(w, r, &account{Name: cl.Name, Username: cl.Username, Subject: idt.Subject, ACR: cl.ACR, AMR: cl.AMR, Protocol: "OpenID Connect"})
}
