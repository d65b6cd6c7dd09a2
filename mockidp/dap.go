package mockidp

import (
	"cmp"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kapu-dev/kapu/mockidp/account"
)

// DÁP mobilalkalmazás (SPEC 1.6, 7): the waiting page shows a QR code of
// a one-time URL; the "phone" that opens it approves the login as its
// user; the waiting page then logs the user in.

// DAPLifetime is how long a DÁP URL works (SPEC 1.6), on the IdP clock.
const DAPLifetime = 2 * time.Minute

// DÁP faults.
const (
	FaultDAPReusable     account.Fault = "dap-reusable"       // the URL can be approved twice
	FaultDAPNoExpiry     account.Fault = "dap-no-expiry"      // the URL never expires
	FaultDAPApproveOnGet account.Fault = "dap-approve-on-get" // opening the URL approves it
)

type dapRequest struct {
	created  time.Time // on the IdP clock
	clock    *Clock    // the IdP clock, or the clock scope of the flow that started it
	seq      uint64    // order of creation, whatever the clock does
	approved string    // the approving user, "" while waiting
	used     bool
	done     bool // the waiting session logged in
}

// dapStore holds the pending DÁP logins, at most max of them: anyone can
// start one, so they are swept by age on the IdP clock and, when that
// frees too little (a frozen clock), by count, the oldest first.
type dapStore struct {
	mu  sync.Mutex
	m   map[string]*dapRequest
	max int
	seq uint64
}

const defaultMaxDAP = 10_000

func (srv *Server) dapAdd(token string, clock *Clock) {
	d := &srv.dap
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		for k, r := range d.m {
			if r.done || srv.dapExpired(r) {
				delete(d.m, k)
			}
		}
	}
	if over := len(d.m) - (d.max - max(1, d.max/10)); over > 0 && len(d.m) >= d.max {
		old := make([]string, 0, len(d.m))
		for k := range d.m {
			old = append(old, k)
		}
		slices.SortFunc(old, func(a, b string) int { return cmp.Compare(d.m[a].seq, d.m[b].seq) })
		for _, k := range old[:over] {
			delete(d.m, k)
		}
	}
	d.seq++
	d.m[token] = &dapRequest{created: clock.Now(), clock: clock, seq: d.seq}
}

func (d *dapStore) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

func (d *dapStore) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m = map[string]*dapRequest{}
}

// dapFinish marks an approved login as taken by its waiting session; it
// is false if another request took it first.
func (srv *Server) dapFinish(token string) bool {
	srv.dap.mu.Lock()
	defer srv.dap.mu.Unlock()
	r, ok := srv.dap.m[token]
	if !ok || r.done || r.approved == "" {
		return false
	}
	r.done = true
	return true
}

// dapState is what the waiting page shows.
type dapState string

const (
	dapWaiting  dapState = "waiting"
	dapApproved dapState = "approved"
	dapExpired  dapState = "expired"
)

func (srv *Server) dapExpired(r *dapRequest) bool {
	return !srv.fault(FaultDAPNoExpiry) && !r.clock.Now().Before(r.created.Add(DAPLifetime))
}

// dapStart shows the waiting page with a fresh one-time URL.
func (srv *Server) dapStart(w http.ResponseWriter, r *http.Request, s *session) {
	token := randomHex(16)
	srv.dapAdd(token, srv.clockOf(r))
	srv.sessions.update(s, func(s *session) { s.dapToken = token })
	srv.showDAP(w, r, s, token, dapWaiting)
}

func (srv *Server) showDAP(w http.ResponseWriter, r *http.Request, s *session, token string, st dapState) {
	p := page{Title: "Bejelentkezés DÁP mobilalkalmazással"}
	if st == dapExpired {
		p.Alert = "A QR-kód lejárt. Kérjen újat a DÁP mobilalkalmazás választásával."
	} else {
		qr, side, err := qrPNG(srv.origin(r) + "/dap/jovahagyas/" + token)
		if err != nil {
			srv.errorPage(w, r, http.StatusInternalServerError, "A QR-kód nem készíthető el.")
			return
		}
		p.QR, p.QRSize = template.URL(qr), side
	}
	srv.render(w, http.StatusOK, "dap", s, p)
}

// dapCheck is the waiting page's state check: JavaScript polls its JSON,
// and without JavaScript the Frissítés button loads it as a page.
func (srv *Server) dapCheck(w http.ResponseWriter, r *http.Request, s *session) {
	v := srv.sessions.view(s)
	st, user := srv.dapStateOf(v.dapToken)
	if r.URL.Query().Get("json") != "" {
		writeJSON(w, http.StatusOK, map[string]string{"state": string(st)})
		return
	}
	switch st {
	case dapApproved:
		if !srv.dapFinish(v.dapToken) {
			srv.showDAP(w, r, s, "", dapExpired)
			return
		}
		// A DÁP approval is a login: a new session cookie (fixation).
		srv.sessions.rotate(w, r, s, func(s *session) bool {
			s.plusUser, s.plusDone, s.method, s.dapToken = user, true, methodDAP, ""
			return true
		})
		srv.loggedIn(w, r, s, user, MethodDAP, "/plusz/sikeres")
	case dapWaiting:
		srv.showDAP(w, r, s, v.dapToken, dapWaiting)
	default:
		srv.showDAP(w, r, s, "", dapExpired)
	}
}

func (srv *Server) dapStateOf(token string) (dapState, string) {
	srv.dap.mu.Lock()
	defer srv.dap.mu.Unlock()
	d, ok := srv.dap.m[token]
	switch {
	case !ok || d.done:
		return dapExpired, ""
	case d.approved != "":
		return dapApproved, d.approved
	case srv.dapExpired(d):
		return dapExpired, ""
	}
	return dapWaiting, ""
}

// dapToken returns the token of a phone URL if it can still be approved.
func (srv *Server) dapUsable(token string) bool {
	srv.dap.mu.Lock()
	defer srv.dap.mu.Unlock()
	d, ok := srv.dap.m[token]
	return ok && (!d.used || srv.fault(FaultDAPReusable)) && !srv.dapExpired(d)
}

const alertDAPInvalid = "Ez a jóváhagyó link érvénytelen, már felhasználták, vagy lejárt."

// dapPhone is the page the phone opens from the QR code.
func (srv *Server) dapPhone(w http.ResponseWriter, r *http.Request, s *session) {
	token := r.PathValue("token")
	if !srv.dapUsable(token) {
		srv.render(w, http.StatusGone, "message", s, page{Title: "DÁP jóváhagyás", Heading: "DÁP jóváhagyás", Alert: alertDAPInvalid})
		return
	}
	v := srv.sessions.view(s)
	if srv.fault(FaultDAPApproveOnGet) && v.user != "" {
		srv.dapApprove(token, v.user)
	}
	p := page{Title: "DÁP jóváhagyás", Action: "/dap/jovahagyas/" + token}
	if info, ok := srv.store.Info(v.user); ok && v.user != "" {
		p.Name, p.Username, p.LoggedIn = info.Name, info.Username, true
	}
	srv.render(w, http.StatusOK, "dapphone", s, p)
}

func (srv *Server) dapApprove(token, user string) bool {
	srv.dap.mu.Lock()
	defer srv.dap.mu.Unlock()
	d, ok := srv.dap.m[token]
	if !ok || (d.used && !srv.fault(FaultDAPReusable)) || srv.dapExpired(d) {
		return false
	}
	d.used, d.approved = true, user
	return true
}

// dapPhonePost approves as the phone's logged-in user, or as the user
// whose username and password the phone page was given (SPEC 7).
func (srv *Server) dapPhonePost(w http.ResponseWriter, r *http.Request, s *session) {
	token := r.PathValue("token")
	f, ok := srv.form(w, r, s)
	if !ok {
		return
	}
	v := srv.sessions.view(s)
	user := v.user
	if user == "" {
		info, err := srv.accounts(r).CheckPassword(f["username"], f["password"])
		if err != nil {
			p := page{Title: "DÁP jóváhagyás", Action: "/dap/jovahagyas/" + token, Alert: alertBadLogin, Username: f["username"]}
			srv.render(w, http.StatusOK, "dapphone", s, p)
			return
		}
		user = info.Username
	}
	if !srv.dapApprove(token, user) {
		srv.render(w, http.StatusGone, "message", s, page{Title: "DÁP jóváhagyás", Heading: "DÁP jóváhagyás", Alert: alertDAPInvalid})
		return
	}
	srv.render(w, http.StatusOK, "message", s, page{Title: "DÁP jóváhagyás", Heading: "A bejelentkezést jóváhagyta",
		Notice: "A bejelentkezést jóváhagyta. Folytassa a másik eszközön.", Back: "/", BackText: "Vissza a kezdőoldalra"})
}

func isDAPPath(p string) bool { return strings.HasPrefix(p, "/dap/jovahagyas/") }
