package mockidp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/kapu-dev/kapu/mockidp/account"
)

// LoadUsers reads a seed file: a JSON array of users; a user with a
// "secret" (base32) is already enrolled, with "recovery" as its törlőkód.
func LoadUsers(path string) ([]account.Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var users []account.Seed
	if err := dec.Decode(&users); err != nil {
		return nil, fmt.Errorf("read users %s: %w", path, err)
	}
	if err := account.NewStore(FrozenClock(minTime), account.DefaultPolicy()).Reset(users); err != nil {
		return nil, fmt.Errorf("read users %s: %w", path, err)
	}
	return users, nil
}
