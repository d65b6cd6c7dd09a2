package mockidp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
)

type clockAnswer struct {
	Now    time.Time
	Frozen bool
	Scopes bool
	Scope  string
}

// inScope makes c a browser of the flow that owns the clock scope name.
func inScope(c *client, name string) *client {
	u, _ := url.Parse(c.base)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: mockidp.ScopeCookie, Value: name}})
	return c
}

// A clock scope moves alone: the IdP clock and other scopes stay; a
// browser carrying the scope's cookie logs in, locks out and expires a
// DÁP URL on the scope's time, one without it on the IdP's.
func TestClockScopes(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	var st clockAnswer
	if m.api(t, "GET", "/__kapu/clock", "", &st); !st.Scopes || st.Scope != "" || !st.Now.Equal(t0) {
		t.Fatalf("GET /__kapu/clock = %+v: want scopes announced, the IdP clock at %v", st, t0)
	}
	if m.api(t, "POST", "/__kapu/clock", `{"scope": "flow-a", "advance": "20m"}`, &st); !st.Now.Equal(t0.Add(20*time.Minute)) || st.Scope != "flow-a" || !st.Frozen {
		t.Fatalf("advancing scope flow-a: %+v", st)
	}
	if m.api(t, "GET", "/__kapu/clock", "", &st); !st.Now.Equal(t0) {
		t.Errorf("the IdP clock moved with a scope: %v", st.Now)
	}
	if m.api(t, "GET", "/__kapu/clock?scope=flow-b", "", &st); !st.Now.Equal(t0) || st.Scope != "flow-b" {
		t.Errorf("a new scope starts at the IdP clock's time: %+v", st)
	}

	u := m.newUser(t)
	key, _ := m.enroll(t, u) // on the IdP clock, which then moves a step: t0+30s
	a := inScope(m.login(t, u), "flow-a")
	a.post("/plusz/kod", "code", codeAt(t, key, t0.Add(30*time.Second)))
	a.wantAlert("Hibás vagy lejárt kód.") // the IdP's time is 20 minutes behind the scope's
	a = inScope(m.client(t), "flow-a")
	a.get("/plusz").post("/plusz", "username", u.Username, "password", u.Password)
	a.post("/plusz/kod", "code", codeAt(t, key, t0.Add(20*time.Minute)))
	a.wantH1("Sikeres bejelentkezés")

	// DÁP: a URL made in a scope expires on the scope's clock, wherever
	// the phone is; one made outside on the IdP's.
	desk, outside := inScope(m.client(t), "flow-b"), m.client(t)
	p, q := dapURL(t, desk), dapURL(t, outside)
	m.api(t, "POST", "/__kapu/clock", `{"scope": "flow-b", "advance": "2m"}`, nil)
	if c := m.client(t).get(p); c.code != http.StatusGone {
		t.Errorf("DÁP URL of scope flow-b after 2 minutes of its clock: %d, want 410", c.code)
	}
	if c := inScope(m.client(t), "flow-b").get(q); c.code != http.StatusOK {
		t.Errorf("DÁP URL made outside any scope, after a scope's move: %d, want 200", c.code)
	}
}

// Bad scope names are refused; a cookie alone never makes a scope; there
// are at most 1024 of them, the least recently used going first.
func TestClockScopesBadInput(t *testing.T) {
	t.Parallel()
	m := newMock(t, mockidp.Options{Skew: 1})
	for _, body := range []string{`{"scope": ""}`, `{"scope": "a b"}`, `{"scope": "ő"}`, `{"scope": 7}`, fmt.Sprintf(`{"scope": %q}`, string(make([]byte, 65)))} {
		var e struct{ Error string }
		if code := m.api(t, "POST", "/__kapu/clock", body, &e); code != http.StatusBadRequest || e.Error == "" {
			t.Errorf("POST %s: %d %q, want 400 with a message", body, code, e.Error)
		}
	}
	if code := m.api(t, "GET", "/__kapu/clock?scope=a%20b", "", nil); code != http.StatusBadRequest {
		t.Errorf("GET with a bad scope: %d, want 400", code)
	}
	// A browser naming a scope nobody made stays on the IdP clock.
	u := m.newUser(t)
	key, _ := m.enroll(t, u)
	c := inScope(m.login(t, u), "nobody-made-this")
	c.post("/plusz/kod", "code", codeAt(t, key, m.srv.Clock().Now()))
	c.wantH1("Sikeres bejelentkezés")

	var st clockAnswer
	m.api(t, "POST", "/__kapu/clock", `{"scope": "first", "advance": "1h"}`, nil)
	for i := range 1024 {
		m.api(t, "POST", "/__kapu/clock", fmt.Sprintf(`{"scope": "s%d"}`, i), nil)
	}
	if m.api(t, "GET", "/__kapu/clock?scope=first", "", &st); !st.Now.Equal(m.srv.Clock().Now()) {
		t.Errorf("scope first survived 1024 newer ones: %v (an hour ahead)", st.Now)
	}
}
