// Package testapi is a client of the test-control API that a target may
// serve under /__kapu/ (SPEC §3): its clock, fresh users and reset.
package testapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNoAPI means the target does not serve the test API.
var ErrNoAPI = errors.New("the target has no test API (/__kapu/)")

// Client talks to one target's test API.
type Client struct {
	Base string // the target's base URL
	// Scope is the clock scope the clock calls go to ("": the IdP clock):
	// see Scoped.
	Scope string
	HTTP  *http.Client
}

// New returns a client for the target at base.
func New(base string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// User is a user the API made.
type User struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

type clockState struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
	Scopes bool      `json:"scopes"`
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body == nil && method == http.MethodPost {
		body = struct{}{} // every POST is JSON, even an empty one
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return fmt.Errorf("test API %s: %w", path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("test API %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode == http.StatusNotFound && !json.Valid(b) {
		return ErrNoAPI
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("test API %s %s: %d %s", method, path, res.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("test API %s %s: bad JSON: %w", method, path, err)
		}
	}
	return nil
}

// Probe tells whether the target serves the test API.
func (c *Client) Probe(ctx context.Context) (bool, error) {
	var st clockState
	err := c.do(ctx, http.MethodGet, "/__kapu/clock", nil, &st)
	if errors.Is(err, ErrNoAPI) || (err == nil && st.Now.IsZero()) {
		return false, nil
	}
	if err != nil && strings.Contains(err.Error(), ": 4") {
		return false, nil // an answer, but not the test API
	}
	return err == nil, err
}

// ScopeCookie is the cookie that puts a browser's requests on a clock
// scope (SPEC 3, optional): its value is the scope's name.
const ScopeCookie = "kapu_clock"

// Scopes tells whether the target offers clock scopes: a clock per flow,
// which the flow's browsers use through ScopeCookie ("scopes": true on
// GET /__kapu/clock). Without them, flows that move the clock of a shared
// target take turns.
func (c *Client) Scopes(ctx context.Context) bool {
	var st clockState
	return c.do(ctx, http.MethodGet, "/__kapu/clock", nil, &st) == nil && st.Scopes
}

// Scoped is a client whose clock calls go to the clock scope name; users
// and reset stay the target's.
func (c *Client) Scoped(name string) *Client {
	s := *c
	s.Scope = name
	return &s
}

// clockCall is a POST /__kapu/clock body, with the scope when there is one.
func (c *Client) clockCall(fields map[string]any) map[string]any {
	if c.Scope != "" {
		fields["scope"] = c.Scope
	}
	return fields
}

func (c *Client) clockPath() string {
	if c.Scope == "" {
		return "/__kapu/clock"
	}
	return "/__kapu/clock?scope=" + url.QueryEscape(c.Scope)
}

// Now is the IdP's time (the scope's, for a scoped client).
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	var st clockState
	err := c.do(ctx, http.MethodGet, c.clockPath(), nil, &st)
	return st.Now, err
}

// Advance freezes the IdP clock and moves it on by d, in one call: a
// flow that moves time works whether the clock was running or not.
func (c *Client) Advance(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPost, "/__kapu/clock", c.clockCall(map[string]any{"freeze": true, "advance": d.String()}), nil)
}

// Freeze stops the IdP clock where it is.
func (c *Client) Freeze(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/__kapu/clock", c.clockCall(map[string]any{"freeze": true}), nil)
}

// Keep notes whether the IdP clock runs, and returns what puts it back:
// at the wall time, running or frozen as it was found. A flow that moved
// a shared target's clock leaves no drift behind for the next flow, nor
// for an app that compares the IdP's times with its own clock.
func (c *Client) Keep(ctx context.Context) (restore func(context.Context) error, err error) {
	var st clockState
	if err := c.do(ctx, http.MethodGet, "/__kapu/clock", nil, &st); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		return c.do(ctx, http.MethodPost, "/__kapu/clock", map[string]any{"set": time.Now().UTC().Format(time.RFC3339), "freeze": st.Frozen}, nil)
	}, nil
}

// NewUser makes a fresh user, not enrolled.
func (c *Client) NewUser(ctx context.Context) (User, error) {
	var u User
	err := c.do(ctx, http.MethodPost, "/__kapu/users", map[string]any{}, &u)
	return u, err
}

// Reset forgets the users, sessions and lockouts made since start.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/__kapu/reset", map[string]any{}, nil)
}
