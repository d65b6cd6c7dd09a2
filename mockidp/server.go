// Package mockidp is kapu's mock identity provider: every screen of an
// Ügyfélkapu-style login (SPEC §1), its TOTP policy (§2) and, when asked
// for, the test-control API (§3). The rules themselves live in
// mockidp/account; this package turns them into pages, sessions and forms.
package mockidp

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/kapu-dev/kapu/mockidp/account"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// HTTP-level faults, beside those of account (see account.Fault).
const (
	FaultQRDiffers      account.Fault = "qr-differs"      // the QR holds another secret than the link and key
	FaultKeyDiffers     account.Fault = "key-differs"     // the manual key is another secret
	FaultRawPlus        account.Fault = "raw-plus"        // the otpauth URI leaves + raw
	FaultSHA256         account.Fault = "uri-sha256"      // the URI says SHA256
	FaultDistinctAlerts account.Fault = "distinct-alerts" // a wrong username gets its own alert
	FaultNoDisclosure   account.Fault = "no-disclosure"   // További azonosítási módok does nothing
	FaultNoKeyboard     account.Fault = "no-keyboard"     // the code page's button is out of the tab order
	FaultNoName         account.Fault = "no-name"         // the success page leaves out the user's name
)

// Faults lists every fault that kapu mockidp --break accepts.
func Faults() []account.Fault {
	return append(slices.Clone(account.AccountFaults),
		FaultQRDiffers, FaultKeyDiffers, FaultRawPlus, FaultSHA256, FaultDistinctAlerts,
		FaultNoDisclosure, FaultNoKeyboard, FaultNoName,
		FaultDAPReusable, FaultDAPNoExpiry, FaultDAPApproveOnGet)
}

// Options configure a mock IdP.
type Options struct {
	Clock   *Clock         // nil: a running clock
	Skew    int            // SPEC §2: 0, 1 or 2 steps either side
	TestAPI bool           // serve /__kapu/ (SPEC §3)
	Users   []account.Seed // seeded at start and again at reset
	Faults  account.Faults // requirements broken on purpose
	Logger  *slog.Logger   // nil: no request log
}

// Server is a mock IdP; it is an http.Handler.
type Server struct {
	opts     Options
	clock    *Clock
	store    *account.Store
	sessions *sessions
	dap      dapStore
	pages    map[string]*template.Template
	mux      *http.ServeMux
	log      *slog.Logger
}

// New returns a mock IdP. It fails only on invalid seeded users.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = NewClock()
	}
	if opts.Skew < 0 || opts.Skew > 2 {
		return nil, fmt.Errorf("skew %d: want 0, 1 or 2", opts.Skew)
	}
	s := &Server{
		opts:     opts,
		clock:    opts.Clock,
		sessions: newSessions(),
		dap:      dapStore{m: map[string]*dapRequest{}},
		log:      opts.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	policy := account.DefaultPolicy()
	policy.Skew = opts.Skew
	s.store = account.NewStore(s.clock, opts.Faults.Apply(policy))
	if err := s.store.Reset(opts.Users); err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.routes()
	return s, nil
}

// Clock returns the IdP's clock.
func (s *Server) Clock() *Clock { return s.clock }

// Store returns the IdP's users, for tests in this module.
func (s *Server) Store() *account.Store { return s.store }

func (s *Server) fault(f account.Fault) bool { return s.opts.Faults.Has(f) }

func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("").ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		pages[n[len("templates/"):len(n)-len(".html")]] = t
	}
	return pages, nil
}

// ServeHTTP serves the IdP, with security headers and a request log
// that carries no form values.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic", "method", r.Method, "path", logPath(r), "panic", fmt.Sprint(v))
			if !sw.wrote {
				http.Error(sw, "belső hiba", http.StatusInternalServerError)
			}
		}
		s.log.Info("request", "method", r.Method, "path", logPath(r), "status", sw.status, "took", time.Since(start).Round(time.Microsecond))
	}()
	s.mux.ServeHTTP(sw, r)
}

// logPath is the path without anything that could carry a secret: the
// token of a DÁP phone URL is one.
func logPath(r *http.Request) string {
	if isDAPPath(r.URL.Path) {
		return "/dap/jovahagyas/…"
	}
	if p := r.URL.Path; len(p) <= 200 {
		return p
	}
	return r.URL.Path[:200] + "…"
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}
