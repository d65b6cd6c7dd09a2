package mockidp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/mockidp"
)

// FuzzFormPost: no form post, whatever its body, makes the mock answer
// 5xx or panic.
func FuzzFormPost(f *testing.F) {
	for _, s := range []string{"csrf=x&username=a&password=b", "code=123456", "saved=igen", "recovery=AAAA", "%zz", "username=\xff", strings.Repeat("a=1&", 100)} {
		f.Add("/ugyfelkapu", s)
		f.Add("/plusz/kod", s)
	}
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: true})
	if err != nil {
		f.Fatal(err)
	}
	paths := []string{"/ugyfelkapu", "/plusz", "/plusz/kod", "/ugyfelkapu/plusz/osszerendeles", "/ugyfelkapu/plusz/torlokod", "/ugyfelkapu/megszuntetes", "/kijelentkezes", "/dap/jovahagyas/x", "/__kapu/clock", "/__kapu/users"}
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = paths[len(path)%len(paths)]
		}
		for _, ct := range []string{"application/x-www-form-urlencoded", "application/json"} {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.URL.Path = path
			req.Header.Set("Content-Type", ct)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Errorf("POST %q %q (%s): %d", path, body, ct, w.Code)
			}
		}
	})
}
