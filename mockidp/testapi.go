package mockidp

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kapu-dev/kapu/mockidp/account"
)

// Bounds of a clock move: beyond them a move is a mistake, not a test.
var (
	minTime    = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime    = time.Date(2999, 12, 31, 0, 0, 0, 0, time.UTC)
	maxAdvance = 10 * 365 * 24 * time.Hour
)

// testAPIRoutes serves SPEC §3 under /__kapu/. Every error is JSON
// {"error": …} with a 4xx status (SPEC §7).
func (srv *Server) testAPIRoutes() {
	api := func(path string, methods map[string]http.HandlerFunc) {
		srv.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if !srv.testAPIAllowed(w, r) {
				return
			}
			h, ok := methods[r.Method]
			if !ok {
				allow := make([]string, 0, len(methods))
				for m := range methods {
					allow = append(allow, m)
				}
				w.Header().Set("Allow", strings.Join(allow, ", "))
				jsonError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, path)
				return
			}
			h(w, r)
		})
	}
	api("/__kapu/clock", map[string]http.HandlerFunc{http.MethodGet: srv.getClock, http.MethodPost: srv.postClock})
	api("/__kapu/users", map[string]http.HandlerFunc{http.MethodPost: srv.postUser})
	api("/__kapu/reset", map[string]http.HandlerFunc{http.MethodPost: srv.postReset})
	srv.mux.HandleFunc("/__kapu/", func(w http.ResponseWriter, r *http.Request) {
		if !srv.testAPIAllowed(w, r) {
			return
		}
		jsonError(w, http.StatusNotFound, "unknown test API call %s", r.URL.Path)
	})
}

// testAPIAllowed keeps the test API a test tool: it answers only a Host
// that is a loopback name, the host the mock was told to use, or its
// public URL's (a DNS-rebinding page has its own name), and never a
// cross-site request (a page elsewhere posting to it from a browser).
// It answers the refusal itself.
func (srv *Server) testAPIAllowed(w http.ResponseWriter, r *http.Request) bool {
	host := hostOnly(r.Host)
	if !srv.knownHost(host) {
		jsonError(w, http.StatusForbidden, "test API: Host %q is not this mock's (loopback, or the address it was given); refused against DNS rebinding", host)
		return false
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		jsonError(w, http.StatusForbidden, "test API: cross-site request refused")
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Host != r.Host && !(srv.public != nil && u.Host == srv.public.Host)) {
			jsonError(w, http.StatusForbidden, "test API: request from origin %q refused: not this mock's", o)
			return false
		}
	}
	return true
}

func (srv *Server) knownHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	if srv.opts.Host != "" && strings.EqualFold(h, hostOnly(srv.opts.Host)) {
		return true
	}
	return srv.public != nil && strings.EqualFold(h, srv.public.Hostname())
}

// hostOnly is the host of a host[:port], without brackets.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// decode reads a JSON body into v: Content-Type application/json always
// (a form post from another site cannot be one), at most 64 KiB, one
// object, no unknown field. An empty JSON body is an empty object. It
// answers the error itself.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		jsonError(w, http.StatusUnsupportedMediaType, "content type %q: want application/json", ct)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		jsonError(w, http.StatusRequestEntityTooLarge, "body over 64 KiB")
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		jsonError(w, http.StatusBadRequest, "bad JSON: %v", err)
		return false
	}
	if dec.More() {
		jsonError(w, http.StatusBadRequest, "bad JSON: more than one value")
		return false
	}
	return true
}

// clockState answers both clock calls. Scopes announces the clock scopes
// (clockscope.go); Scope names the one answered for, "" for the IdP clock.
type clockState struct {
	Now    string `json:"now"`
	Frozen bool   `json:"frozen"`
	Scopes bool   `json:"scopes"`
	Scope  string `json:"scope,omitempty"`
}

func (srv *Server) getClock(w http.ResponseWriter, r *http.Request) {
	var name *string
	if q := r.URL.Query(); q.Has("scope") {
		v := q.Get("scope")
		name = &v
	}
	c, ok := srv.scopeParam(w, name)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, clockState{c.Now().Format(time.RFC3339Nano), c.Frozen(), true, deref(name)})
}

// scopeParam is the clock a call names: the IdP clock without a scope,
// else that scope's, made as a copy of the IdP clock when new.
func (srv *Server) scopeParam(w http.ResponseWriter, name *string) (*Clock, bool) {
	if name == nil {
		return srv.clock, true
	}
	if !validScope(*name) {
		jsonError(w, http.StatusBadRequest, "scope %q: want 1 to 64 of A-Z a-z 0-9 - _", *name)
		return nil, false
	}
	return srv.scopes.get(*name, srv.clock), true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (srv *Server) postClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Set     *string `json:"set"`
		Advance *string `json:"advance"`
		Freeze  *bool   `json:"freeze"`
		Scope   *string `json:"scope"`
	}
	if !decode(w, r, &req) {
		return
	}
	change := ClockChange{Freeze: req.Freeze}
	if req.Set != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.Set)
		if err != nil {
			jsonError(w, http.StatusBadRequest, "set %q: want an RFC 3339 time", *req.Set)
			return
		}
		if t.Before(minTime) || t.After(maxTime) {
			jsonError(w, http.StatusBadRequest, "set %q: out of range %d to %d", *req.Set, minTime.Year(), maxTime.Year())
			return
		}
		change.Set = &t
	}
	if req.Advance != nil {
		d, err := time.ParseDuration(*req.Advance)
		if err != nil {
			jsonError(w, http.StatusBadRequest, "advance %q: want a duration such as \"29s\"", *req.Advance)
			return
		}
		if d < 0 || d > maxAdvance {
			jsonError(w, http.StatusBadRequest, "advance %q: want 0 to %s (the clock only moves forward this way)", *req.Advance, maxAdvance)
			return
		}
		change.Advance = d
	}
	// The scope last: a refused call makes none.
	c, ok := srv.scopeParam(w, req.Scope)
	if !ok {
		return
	}
	now, frozen := c.Apply(change)
	writeJSON(w, http.StatusOK, clockState{now.Format(time.RFC3339Nano), frozen, true, deref(req.Scope)})
}

func (srv *Server) postUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
		Name     *string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	sd := account.Seed{Username: "teszt-" + randomName(), Password: randomPassword(), Name: "Teszt Elek"}
	if req.Username != nil {
		sd.Username = *req.Username
	}
	if req.Password != nil {
		sd.Password = *req.Password
	}
	if req.Name != nil {
		sd.Name = *req.Name
	}
	if bad := validUser(sd); bad != "" {
		jsonError(w, http.StatusBadRequest, "%s", bad)
		return
	}
	err := srv.store.Add(sd)
	switch {
	case errors.Is(err, account.ErrTaken):
		jsonError(w, http.StatusConflict, "username %q is taken", sd.Username)
		return
	case err != nil:
		jsonError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"username": sd.Username, "password": sd.Password, "name": sd.Name})
}

// validUser says what is wrong with a user the test API is asked for.
func validUser(sd account.Seed) string {
	switch {
	case sd.Username == "" || sd.Password == "":
		return "username and password must not be empty"
	case len(sd.Username) > maxFieldLen || len(sd.Password) > maxFieldLen || len(sd.Name) > maxFieldLen:
		return fmt.Sprintf("username, password and name must be at most %d bytes", maxFieldLen)
	case strings.ContainsFunc(sd.Username+sd.Password+sd.Name, func(r rune) bool { return r < ' ' || r == 0x7f || r == 0xfffd }):
		return "username, password and name must not hold control characters or invalid UTF-8"
	case strings.TrimSpace(sd.Username) != sd.Username:
		return "username must not start or end with a space"
	}
	return ""
}

func (srv *Server) postReset(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !decode(w, r, &req) {
		return
	}
	// SPEC §7: reset leaves the clock alone.
	if err := srv.store.Reset(srv.opts.Users); err != nil {
		jsonError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	srv.sessions.reset()
	srv.dap.reset()
	srv.oidc.codes.reset()
	srv.oidc.tokens.reset()
	writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
}

const nameAlphabet = "abcdefghijkmnopqrstuvwxyz23456789"

func randomName() string { return randomFrom(nameAlphabet, 10) }

func randomPassword() string {
	return randomFrom("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 16)
}

func randomFrom(alphabet string, n int) string {
	out := make([]byte, n)
	rand.Read(out) // never fails on Linux (Go ≥1.24)
	for i, b := range out {
		// The small modulo bias does not matter for test users.
		out[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(out)
}
