package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/kapu-dev/kapu/flow"
)

// Account is a login of a target without the test API: one of the pool.
// Secret (base32) is the TOTP key of an enrolled account; Recovery is its
// törlőkód, when known.
type Account struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Secret   string `json:"secret,omitempty"`
	Recovery string `json:"recovery,omitempty"`
}

// Enrolled tells whether the account has Ügyfélkapu+ with a known key.
func (a Account) Enrolled() bool { return a.Secret != "" }

// LoadAccounts reads a pool file: the JSON of testdata/users.json.
func LoadAccounts(path string) ([]Account, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("account pool: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var as []Account
	if err := dec.Decode(&as); err != nil {
		return nil, fmt.Errorf("account pool %s: want a JSON list of {username, password, name[, secret, recovery]}: %w", path, err)
	}
	seen := map[string]bool{}
	for i, a := range as {
		if a.Username == "" || a.Password == "" || a.Name == "" {
			return nil, fmt.Errorf("account pool %s: account %d: username, password and name are needed", path, i+1)
		}
		if seen[a.Username] {
			return nil, fmt.Errorf("account pool %s: %s is there twice", path, a.Username)
		}
		seen[a.Username] = true
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("account pool %s: no accounts", path)
	}
	return as, nil
}

// Pool hands out the accounts of a target without the test API: each to
// one flow at a time, for the flow's whole run.
type Pool struct {
	mu       sync.Mutex
	accounts []Account
	busy     []bool
	freed    chan struct{} // closed and replaced whenever an account is returned
}

// NewPool makes a pool of accounts.
func NewPool(accounts []Account) *Pool {
	return &Pool{accounts: accounts, busy: make([]bool, len(accounts)), freed: make(chan struct{})}
}

// need is what a flow's user steps ask for, in order.
type need struct {
	as       string
	enrolled bool
}

// poolNeeds lists the accounts f's user steps take.
func poolNeeds(f *flow.Flow) []need {
	var out []need
	for _, s := range f.Steps {
		if u, ok := s.(flow.User); ok {
			out = append(out, need{u.As, u.Enrolled})
		}
	}
	return out
}

// fits says why the pool can never give f what it needs, or "".
func (p *Pool) fits(needs []need) string {
	var fresh, enrolled, haveFresh, haveEnrolled int
	for _, n := range needs {
		if n.enrolled {
			enrolled++
		} else {
			fresh++
		}
	}
	for _, a := range p.accounts {
		if a.Enrolled() {
			haveEnrolled++
		} else {
			haveFresh++
		}
	}
	switch {
	case enrolled > haveEnrolled:
		return fmt.Sprintf("needs %d enrolled accounts (with secret); the pool has %d", enrolled, haveEnrolled)
	case fresh > haveFresh:
		return fmt.Sprintf("needs %d accounts not enrolled; the pool has %d", fresh, haveFresh)
	}
	return ""
}

// take returns accounts for needs, in their order, all at once (a flow
// never holds one while it waits for another), waiting until they are
// free.
func (p *Pool) take(ctx context.Context, needs []need) ([]Account, func(), error) {
	for {
		p.mu.Lock()
		got, idx := p.pick(needs)
		freed := p.freed
		if got != nil {
			for _, i := range idx {
				p.busy[i] = true
			}
		}
		p.mu.Unlock()
		if got != nil {
			return got, func() { p.give(idx) }, nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for a free account of the pool: %w", ctx.Err())
		}
	}
}

// pick chooses free accounts for needs, or nil; p.mu is held.
func (p *Pool) pick(needs []need) ([]Account, []int) {
	var got []Account
	var idx []int
	used := map[int]bool{}
	for _, n := range needs {
		found := -1
		for i, a := range p.accounts {
			if !p.busy[i] && !used[i] && a.Enrolled() == n.enrolled {
				found = i
				break
			}
		}
		if found < 0 {
			return nil, nil
		}
		used[found] = true
		idx = append(idx, found)
		got = append(got, p.accounts[found])
	}
	return got, idx
}

func (p *Pool) give(idx []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range idx {
		p.busy[i] = false
	}
	close(p.freed)
	p.freed = make(chan struct{})
}
