package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testPool() *Pool {
	return NewPool([]Account{
		{Username: "a", Password: "p", Name: "A"},
		{Username: "b", Password: "p", Name: "B"},
		{Username: "e", Password: "p", Name: "E", Secret: "JBSWY3DPEHPK3PXP"},
	})
}

func TestPoolKinds(t *testing.T) {
	p := testPool()
	got, give, err := p.take(context.Background(), []need{{"user", true}, {"other", false}})
	if err != nil || got[0].Username != "e" || got[1].Enrolled() {
		t.Fatalf("%+v %v", got, err)
	}
	give()
	for needs, want := range map[string][]need{
		"needs 2 enrolled accounts (with secret); the pool has 1": {{"user", true}, {"x", true}},
		"needs 3 accounts not enrolled; the pool has 2":           {{"user", false}, {"x", false}, {"y", false}},
		"": {{"user", false}, {"x", false}, {"y", true}},
	} {
		if why := p.fits(want); why != needs {
			t.Errorf("fits(%v) = %q, want %q", want, why, needs)
		}
	}
}

// An account is one flow's at a time: the next waits until it is given
// back, and a flow takes all its accounts at once.
func TestPoolExclusive(t *testing.T) {
	p := testPool()
	ctx := context.Background()
	_, give, _ := p.take(ctx, []need{{"user", true}})
	took := make(chan Account)
	go func() {
		got, give2, err := p.take(ctx, []need{{"user", true}})
		if err == nil {
			give2()
		}
		var a Account
		if len(got) > 0 {
			a = got[0]
		}
		took <- a
	}()
	// Two accounts not enrolled are free: a flow that wants them gets both
	// while the enrolled one is busy.
	both, give3, err := p.take(ctx, []need{{"user", false}, {"x", false}})
	if err != nil || both[0].Username == both[1].Username {
		t.Fatalf("%+v %v", both, err)
	}
	give3()
	select {
	case a := <-took:
		t.Fatalf("took %s while it was busy", a.Username)
	case <-time.After(50 * time.Millisecond): // still waiting, as it should
	}
	give()
	if a := <-took; a.Username != "e" {
		t.Errorf("took %q after it was given back", a.Username)
	}
	cctx, cancel := context.WithCancel(ctx)
	_, give, _ = p.take(ctx, []need{{"user", true}})
	defer give()
	cancel()
	if _, _, err := p.take(cctx, []need{{"user", true}}); err == nil || !strings.Contains(err.Error(), "waiting for a free account") {
		t.Errorf("a cancelled wait: %v", err)
	}
}

func TestLoadAccounts(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "p.json")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	if as, err := LoadAccounts("../testdata/users.json"); err != nil || len(as) != 2 || !as[1].Enrolled() {
		t.Errorf("testdata/users.json: %+v %v", as, err)
	}
	for src, want := range map[string]string{
		`[]`:                                "no accounts",
		`[{"username":"a","password":"p"}]`: "username, password and name",
		`[{"username":"a","password":"p","name":"A","pin":"1"}]`: "unknown field",
		`{"username":"a"}`: "want a JSON list",
		`[{"username":"a","password":"p","name":"A"},{"username":"a","password":"q","name":"B"}]`: "twice",
	} {
		if _, err := LoadAccounts(write(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}
