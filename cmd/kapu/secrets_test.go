package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapu-dev/kapu/mockidp"
)

// secretTap serves the mock and keeps every secret that crosses the
// wire: passwords, codes and törlőkódok posted, and the keys and
// törlőkódok the pages show (in every form a page may show them).
type secretTap struct {
	h     http.Handler
	flows string // the flow files' text
	mu    sync.Mutex
	s     map[string]bool
}

var (
	reKeyValue = regexp.MustCompile(`id="kulcs"[^>]*value="([^"]+)"`)
	reRecValue = regexp.MustCompile(`id="torlokod"[^>]*readonly[^>]*value="([^"]+)"`)
	reUserJSON = regexp.MustCompile(`"password":"([^"]+)"`)
)

func (tap *secretTap) literal(v string) bool {
	return v != "" && strings.Contains(tap.flows, v)
}

func (tap *secretTap) add(v string) {
	v = strings.TrimSpace(html.UnescapeString(v))
	if len(v) < 6 {
		return
	}
	tap.mu.Lock()
	tap.s[v] = true
	tap.s[strings.ReplaceAll(v, " ", "")] = true
	tap.mu.Unlock()
}

func (tap *secretTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// What a flow file writes itself (a wrong code, a wrong password) is no
	// secret of the run; what the IdP made or the user was given is.
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseForm(); err == nil {
			for _, k := range []string{"password", "code", "recovery"} {
				if v := r.PostForm.Get(k); !tap.literal(v) {
					tap.add(v)
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.PostForm, r.Form = nil, nil
	}
	// A DÁP approval URL is a bearer capability until used: its token too.
	if tok, ok := strings.CutPrefix(r.URL.Path, "/dap/jovahagyas/"); ok {
		tap.add(tok)
	}
	rec := httptest.NewRecorder()
	tap.h.ServeHTTP(rec, r)
	page := rec.Body.String()
	for _, re := range []*regexp.Regexp{reKeyValue, reRecValue, reUserJSON} {
		for _, m := range re.FindAllStringSubmatch(page, -1) {
			tap.add(m[1])
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// leakAt is where text holds the secret s, or -1. A code (digits only)
// counts where it stands as a number of its own: six digits inside a
// longer run (a step's time, 0.012845671 s, in the results) are not that
// code.
func leakAt(text, s string) int {
	if strings.Trim(s, "0123456789") != "" {
		return strings.Index(text, s)
	}
	for i := 0; ; {
		j := strings.Index(text[i:], s)
		if j < 0 {
			return -1
		}
		j += i
		end := j + len(s)
		if (j == 0 || !isDigit(text[j-1])) && (end == len(text) || !isDigit(text[end])) {
			return j
		}
		i = j + 1
	}
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// TestSecretsNeverUnmasked runs flows against a mock on loopback with
// --report and --junit, records every password, key, code and törlőkód
// the run used, and finds none in stdout, stderr, the JUnit XML or the
// report (its HTML and its text).
func TestSecretsNeverUnmasked(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: true, Clock: mockidp.FrozenClock(time.Now().UTC())})
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"flows/login.yaml", "flows/qr-key.yaml", "flows/torlokod.yaml", "flows/dap.yaml", "runner/testdata/fail-expect.yaml"}
	var text strings.Builder
	for _, f := range append(files, "flows/steps/enroll.yaml", "flows/steps/login.yaml", "flows/steps/ugyfelkapu.yaml", "flows/steps/to-enrollment.yaml") {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		text.Write(b)
	}
	tap := &secretTap{h: srv, s: map[string]bool{}, flows: text.String()}
	ts := httptest.NewServer(tap)
	defer ts.Close()
	dir := t.TempDir()
	args := append([]string{"run", "--no-color", "--base-url", ts.URL, "--workers", "2",
		"--junit", filepath.Join(dir, "junit.xml"), "--report", filepath.Join(dir, "report"), "--results", filepath.Join(dir, "results"), "--artifacts", dir}, files...)
	out, errOut, code := kapu(t, nil, args...)
	if code != 1 || !strings.Contains(out, "9 passed, 1 failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	junit, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
	report, _ := os.ReadFile(filepath.Join(dir, "report", "index.html"))
	outputs := map[string]string{
		"stdout": out, "stderr": errOut, "JUnit": string(junit),
		"report": string(report), "report text": html.UnescapeString(string(report)),
	}
	// The results as data: every JSON document, as written and decoded.
	jsons, _ := filepath.Glob(filepath.Join(dir, "results", "*", "*.json"))
	top, _ := filepath.Glob(filepath.Join(dir, "results", "*.json"))
	if len(jsons) < 10 {
		t.Fatalf("%d results documents", len(jsons))
	}
	for _, p := range append(jsons, top...) {
		b, _ := os.ReadFile(p)
		var v any
		json.Unmarshal(b, &v)
		decoded, _ := json.Marshal(v)
		outputs[p] = string(b) + "\n" + strings.ReplaceAll(string(decoded), `\u0026`, "&")
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.s) < 10 {
		t.Fatalf("only %d secrets seen on the wire: the tap is broken", len(tap.s))
	}
	for s := range tap.s {
		for name, text := range outputs {
			if i := leakAt(text, s); i >= 0 {
				// Where, with the secret itself left out of the log.
				around := text[max(0, i-60):min(len(text), i+len(s)+30)]
				t.Errorf("secret %s… in %s: %q", s[:3], name, strings.ReplaceAll(around, s, "<SECRET>"))
			}
		}
		// Nor hidden in the report's data: URLs (decoded pictures aside).
		if strings.Contains(string(report), base64.StdEncoding.EncodeToString([]byte(s))) {
			t.Errorf("secret %s… base64 in the report", s[:3])
		}
	}
}

func TestLeakAt(t *testing.T) {
	for _, c := range []struct {
		text, s string
		want    bool
	}{
		{`"took": 0.012845671`, "128456", false},
		{`fill with 128456`, "128456", true},
		{`"value":"128456"`, "128456", true},
		{`1284567 and 128456.`, "128456", true},
		{`x9128456`, "128456", false},
		{`jelszó: abc128456`, "abc128", true},
	} {
		if got := leakAt(c.text, c.s) >= 0; got != c.want {
			t.Errorf("leakAt(%q, %q) >= 0 is %v, want %v", c.text, c.s, got, c.want)
		}
	}
}
