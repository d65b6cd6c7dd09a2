// Package mockidp is kapu's mock identity provider: every screen of an
// Ügyfélkapu-style login (SPEC §1), its TOTP policy (§2) and, when asked
// for, the test-control API (§3). The rules themselves live in
// mockidp/account; this package turns them into pages, sessions and forms.
package mockidp

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kapu-dev/kapu/mockidp/account"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticVersion names the content of this build's static files.
var staticVersion = func() string {
	h := sha256.New()
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(p)
			fmt.Fprintf(h, "%s %d\n", p, len(b))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}()

// staticURL is the address of a static file of this build, for templates.
func staticURL(name string) string { return "/static/" + name + "?v=" + staticVersion }

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

// FaultNames lists the names kapu mockidp --break accepts.
func FaultNames() []string {
	var out []string
	for _, f := range Faults() {
		out = append(out, string(f))
	}
	return out
}

// ParseFaults reads --break: comma-separated fault names.
func ParseFaults(s string) (account.Faults, error) { return account.ParseFaults(s, Faults()) }

// Options configure a mock IdP.
type Options struct {
	Clock   *Clock         // nil: a running clock
	Skew    int            // SPEC §2: 0, 1 or 2 steps either side
	TestAPI bool           // serve /__kapu/ (SPEC §3)
	Users   []account.Seed // seeded at start and again at reset
	Faults  account.Faults // requirements broken on purpose
	Logger  *slog.Logger   // nil: no request log

	// PublicURL is the origin the mock is reached on behind a proxy
	// (https://idp.example): the DÁP QR code and redirects use it instead
	// of the request's Host header, and an https one makes cookies Secure.
	PublicURL string
	// Host is the host the mock was told to listen on or be reached by:
	// beside loopback names and the public URL's host, the only Host the
	// test API answers (no DNS rebinding).
	Host string

	MaxSessions int // 0: 200 000
	MaxDAP      int // pending DÁP logins; 0: 10 000

	// SAMLSPs are the service providers' metadata, files or URLs (fetched
	// at first use): with any, the mock is their SAML identity provider.
	SAMLSPs []string
	// OIDCClients are the OpenID Connect relying parties (--oidc-client).
	OIDCClients []OIDCClient
	// Signer signs assertions and tokens; nil: a key made at start.
	Signer *Signer
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
	public   *url.URL // nil: the request's own origin
	signer   *Signer  // made at first use unless given: most mocks never sign
	signOnce sync.Once
	signErr  error
	samlSPs  *samlSPs
	oidc     *oidcProvider
	scopes   clockScopes // the test API's per-flow clocks

	afterCodeCheck func() // tests: runs between the code check and the login
}

// New returns a mock IdP. It fails only on invalid seeded users.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = NewClock()
	}
	if opts.Skew < 0 || opts.Skew > 2 {
		return nil, fmt.Errorf("skew %d: want 0, 1 or 2", opts.Skew)
	}
	public, err := parsePublicURL(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	if opts.MaxDAP <= 0 {
		opts.MaxDAP = defaultMaxDAP
	}
	s := &Server{
		opts:     opts,
		clock:    opts.Clock,
		sessions: newSessions(opts.MaxSessions, public != nil && public.Scheme == "https"),
		dap:      dapStore{m: map[string]*dapRequest{}, max: opts.MaxDAP},
		log:      opts.Logger,
		public:   public,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	policy := account.DefaultPolicy()
	policy.Skew = opts.Skew
	s.store = account.NewStore(s.clock, opts.Faults.Apply(policy))
	if s.samlSPs, err = newSAMLSPs(opts.SAMLSPs); err != nil {
		return nil, err
	}
	if s.oidc, err = newOIDCProvider(opts.OIDCClients); err != nil {
		return nil, err
	}
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

// cspWithFormAction is the pages' Content-Security-Policy; forms may also
// go to target (an app's ACS, or the redirect URI a form's redirect
// leads to), when one is given.
func cspWithFormAction(target string) string {
	formAction := "'self'"
	if target != "" {
		formAction += " " + target
	}
	return "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}

// parsePublicURL reads --public-url: an http or https origin, no path.
func parsePublicURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("public URL %q: want http:// or https:// and a host", s)
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("public URL %q: want an origin only (scheme://host[:port]), no path, query or user", s)
	}
	u.Path = ""
	return u, nil
}

// origin is where the browser reaches the mock: the public URL when set,
// else the request's own scheme and Host.
func (s *Server) origin(r *http.Request) string {
	if s.public != nil {
		return s.public.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// HTTPServer serves h with the timeouts a server on a network needs:
// a slow or idle client cannot hold a connection for long.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Clock returns the IdP's clock.
func (s *Server) Clock() *Clock { return s.clock }

// Store returns the IdP's users, for tests in this module.
func (s *Server) Store() *account.Store { return s.store }

func (s *Server) fault(f account.Fault) bool { return s.opts.Faults.Has(f) }

func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("").Funcs(template.FuncMap{"static": staticURL}).ParseFS(templateFS, "templates/layout.html")
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
	h.Set("Content-Security-Policy", cspWithFormAction(""))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	r = s.withScope(r)
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
