package mockidp

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/kapu-dev/kapu/mockidp/account"
)

// The alerts of SPEC §1, verbatim.
const (
	alertBadLogin    = "Hibás felhasználónév vagy jelszó."
	alertBadPassword = "Hibás jelszó."
	alertBadCode     = "Hibás vagy lejárt kód."
	alertLocked      = "Túl sok sikertelen próbálkozás. Próbálja újra később."
	alertNotEnrolled = "Ehhez a bejelentkezéshez Ügyfélkapu+ szükséges."
	alertNotSaved    = "Kérjük, erősítse meg, hogy a törlőkódot elmentette."
	alertBadRecovery = "Hibás törlőkód."
	noticeRevoked    = "Az Ügyfélkapu+ szolgáltatás megszűnt."
	alertNoSuchUser  = "Nincs ilyen felhasználó." // only under FaultDistinctAlerts
)

// page is what every template reads.
type page struct {
	Title, Heading string
	Alert, Notice  string
	CSRF           string
	Action         string
	Username, Name string
	Enrolled       bool
	LoggedIn       bool
	DAP            bool // logged in with DÁP: one factor, on the phone

	// An app's login: the methods its request allows, and the SAML answer.
	NoPassword, NoPlus, NoDAP bool
	SAMLResponse, RelayState  string

	QR        template.URL
	QRSize    int
	URI       template.URL
	ManualKey string
	Field     string // the field an alert is about
	Recovery  string

	Paragraphs     []string
	Back, BackText string

	faults account.Faults
}

// Fault lets a template break a requirement on purpose.
func (p page) Fault(name string) bool { return p.faults.Has(account.Fault(name)) }

func (srv *Server) routes() {
	m := http.NewServeMux()
	files := http.FileServerFS(staticFS)
	m.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			srv.errorPage(w, r, http.StatusNotFound, "Az oldal nem található.")
			return
		}
		// The pages name this build's files (staticURL): those a browser
		// keeps, so that a navigation asks for the page alone (a third of
		// the requests; docs/performance.md). Any other asks again.
		if r.URL.Query().Get("v") == staticVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
	srv.mux = m
	srv.handle("/{$}", srv.start, nil)
	srv.handle("/ugyfelkapu", srv.passwordPage(false), srv.passwordPost(false))
	srv.handle("/plusz", srv.passwordPage(true), srv.passwordPost(true))
	srv.handle("/plusz/kod", srv.codePage, srv.codePost)
	srv.handle("/plusz/sikeres", srv.successPage, nil)
	srv.handle("/kijelentkezes", nil, srv.logout)
	srv.handle("/ugyfelkapu/fiok", srv.greeting, nil)
	srv.handle("/ugyfelkapu/plusz", srv.intro, nil)
	srv.handle("/ugyfelkapu/plusz/osszerendeles", srv.enrollPage, srv.enrollPost)
	srv.handle("/ugyfelkapu/plusz/torlokod", srv.recoveryPage, srv.recoveryPost)
	srv.handle("/ugyfelkapu/plusz/kesz", srv.enrolled, nil)
	srv.handle("/ugyfelkapu/megszuntetes", srv.revokePage, srv.revokePost)
	srv.handle("/sugo", srv.info("Súgó",
		"Válassza ki, hogyan azonosítja magát: DÁP mobilalkalmazással, Ügyfélkapu+-szal (felhasználónév, jelszó és a hitelesítő alkalmazás 6 jegyű kódja) vagy Ügyfélkapuval.",
		"Az Ügyfélkapu+ beállításához jelentkezzen be az Ügyfélkapuba, és válassza az Ügyfélkapu+ igénylése gombot."), nil)
	srv.handle("/informacio", srv.info("Tudnivalók az Ügyfélkapu+-ról",
		"Az Ügyfélkapu+ kétfaktoros azonosítás: a jelszó mellé a telefonján futó hitelesítő alkalmazás 30 másodpercenként változó, 6 jegyű kódját is meg kell adnia.",
		"Igényléséhez jelentkezzen be az Ügyfélkapuba, és olvassa be a megjelenő QR-kódot egy hitelesítő alkalmazással."), nil)
	srv.handle("/letoltes", srv.info("A Digitális Állampolgár mobilalkalmazás",
		"A mintában az alkalmazásbolt nem érhető el."), nil)
	srv.handle("/vissza", srv.info("Visszatérés a szolgáltatóhoz",
		"A mintában nincs előző szolgáltató, ahová vissza lehetne térni."), nil)
	srv.handle("/modok/{mod}", srv.info("Azonosítási mód",
		"Ez az azonosítási mód a mintában nem érhető el."), nil)
	srv.handle("/dap", srv.dapStart, nil)
	srv.handle("/dap/allapot", srv.dapCheck, nil)
	srv.handle("/dap/jovahagyas/{token}", srv.dapPhone, srv.dapPhonePost)
	srv.samlRoutes()
	srv.oidcRoutes()
	if srv.opts.TestAPI {
		srv.testAPIRoutes()
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		srv.errorPage(w, r, http.StatusNotFound, "Az oldal nem található.")
	})
}

type handler func(http.ResponseWriter, *http.Request, *session)

// handle serves path with get and post; any other method gets an HTML 405
// with Allow. GET pages start a session; a POST needs one.
func (srv *Server) handle(path string, get, post handler) {
	srv.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && get != nil:
			get(w, r, srv.sessions.ensure(w, r))
		case r.Method == http.MethodPost && post != nil:
			post(w, r, srv.sessions.get(r))
		default:
			allow := ""
			if get != nil {
				allow = "GET, HEAD"
			}
			if post != nil {
				if allow != "" {
					allow += ", "
				}
				allow += "POST"
			}
			w.Header().Set("Allow", allow)
			srv.errorPage(w, r, http.StatusMethodNotAllowed, "Ez a kérés itt nem engedélyezett.")
		}
	})
}

func (srv *Server) render(w http.ResponseWriter, status int, name string, s *session, p page) {
	if s != nil {
		v := srv.sessions.view(s)
		p.CSRF = v.csrf
		if t := v.app.formTarget(); t != "" {
			w.Header().Set("Content-Security-Policy", cspWithFormAction(t))
		}
	}
	p.faults = srv.opts.Faults
	var buf bytes.Buffer
	if err := srv.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		srv.log.Error("render", "page", name, "err", err)
		http.Error(w, "belső hiba", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (srv *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	title := "Hiba"
	switch status {
	case http.StatusNotFound:
		title = "Az oldal nem található"
	case http.StatusForbidden:
		title = "A kérés nem teljesíthető"
	}
	srv.render(w, status, "message", nil, page{Title: title, Heading: title, Alert: msg})
}

// redirect sends the browser to a path of the mock: on the public URL when
// one is set (behind a proxy), never on the request's Host.
func (srv *Server) redirect(w http.ResponseWriter, r *http.Request, to string) {
	if srv.public != nil {
		to = srv.public.String() + to
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (srv *Server) info(title string, paragraphs ...string) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		srv.render(w, http.StatusOK, "message", s, page{Title: title, Heading: title, Paragraphs: paragraphs})
	}
}

func (srv *Server) start(w http.ResponseWriter, r *http.Request, s *session) {
	app := srv.sessions.view(s).app
	srv.render(w, http.StatusOK, "start", s, page{Title: "Bejelentkezés",
		NoPassword: !app.offers(MethodPassword), NoPlus: !app.offers(MethodPlus), NoDAP: !app.offers(MethodDAP)})
}

// loggedIn ends a login: back to the app whose request it answers, if
// any (SPEC §8: no consent page), else to next.
func (srv *Server) loggedIn(w http.ResponseWriter, r *http.Request, s *session, user string, m Method, next string) {
	l := login{user: user, method: m, at: srv.clockOf(r).Now()}
	var app *appRequest
	srv.sessions.update(s, func(s *session) {
		switch app = s.app; {
		case app == nil:
		case app.oidc != nil: // answered here: the form's redirect goes to the app
			s.app = nil
		default: // SAML: answered by the crewjam/saml IdP on its own route
			s.answer = l
			next = "/saml/folytatas"
		}
	})
	if app != nil && app.oidc != nil {
		srv.answerOIDC(w, r, app, l)
		return
	}
	srv.redirect(w, r, next)
}

// passwordPage is the first stage of both logins: Ügyfélkapu (SPEC §1.2)
// and Ügyfélkapu+ (§1.4).
func (srv *Server) passwordPage(plus bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		srv.render(w, http.StatusOK, "password", s, passwordPageData(plus, "", ""))
	}
}

func passwordPageData(plus bool, username, alert string) page {
	p := page{Title: "Bejelentkezés Ügyfélkapuval", Heading: "Bejelentkezés Ügyfélkapuval", Action: "/ugyfelkapu", Username: username, Alert: alert}
	if plus {
		p.Title, p.Heading, p.Action = "Bejelentkezés Ügyfélkapu+-szal", "Bejelentkezés Ügyfélkapu+-szal", "/plusz"
	}
	return p
}

func (srv *Server) passwordPost(plus bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		f, ok := srv.form(w, r, s, "username", "password")
		if !ok {
			return
		}
		username := f["username"]
		info, err := srv.accounts(r).CheckPassword(username, f["password"])
		if err != nil {
			alert := alertBadLogin
			if _, known := srv.store.Info(username); !known && srv.fault(FaultDistinctAlerts) {
				alert = alertNoSuchUser
			}
			// SPEC §7: the username field keeps what was typed.
			srv.render(w, http.StatusOK, "password", s, passwordPageData(plus, username, alert))
			return
		}
		if !plus {
			srv.sessions.rotate(w, r, s, func(s *session) bool { s.user = info.Username; return true })
			srv.loggedIn(w, r, s, info.Username, MethodPassword, "/ugyfelkapu/fiok")
			return
		}
		if err := srv.accounts(r).CanUsePlus(info.Username); err != nil {
			srv.render(w, http.StatusOK, "password", s, passwordPageData(plus, username, alertNotEnrolled))
			return
		}
		attempt := srv.sessions.nextAttempt()
		srv.sessions.update(s, func(s *session) {
			s.plusUser, s.attempt, s.plusDone, s.method = info.Username, attempt, false, ""
		})
		srv.redirect(w, r, "/plusz/kod")
	}
}

func (srv *Server) codePage(w http.ResponseWriter, r *http.Request, s *session) {
	v := srv.sessions.view(s)
	switch {
	case v.plusUser == "":
		srv.redirect(w, r, "/plusz")
		return
	case v.plusDone:
		srv.redirect(w, r, "/plusz/sikeres")
		return
	}
	p := page{Title: "Azonosítás hitelesítő alkalmazással"}
	// SPEC §7: a locked user still reaches the code page, with the alert.
	if srv.accounts(r).Locked(v.plusUser) {
		p.Alert = alertLocked
	}
	srv.render(w, http.StatusOK, "code", s, p)
}

func (srv *Server) codePost(w http.ResponseWriter, r *http.Request, s *session) {
	f, ok := srv.form(w, r, s, "code")
	if !ok {
		return
	}
	v := srv.sessions.view(s)
	if v.plusUser == "" || v.plusDone {
		srv.redirect(w, r, "/plusz")
		return
	}
	err := srv.accounts(r).CheckCode(v.plusUser, f["code"])
	if srv.afterCodeCheck != nil {
		srv.afterCodeCheck()
	}
	// The code was checked for the user of the password stage read above:
	// it logs in that user only, and only if no other password stage has
	// taken the session's place meanwhile (checked and set under one lock).
	if err == nil && !srv.sessions.rotate(w, r, s, func(s *session) bool {
		if s.plusUser != v.plusUser || s.attempt != v.attempt || s.plusDone {
			return false
		}
		s.plusDone, s.method = true, methodPlus
		return true
	}) {
		err = account.ErrBadCode
	}
	alert := ""
	switch {
	case err == nil:
		srv.loggedIn(w, r, s, v.plusUser, MethodPlus, "/plusz/sikeres")
		return
	case errors.Is(err, account.ErrLocked):
		alert = alertLocked
	case errors.Is(err, account.ErrNotEnrolled):
		alert = alertNotEnrolled
	default:
		alert = alertBadCode
	}
	srv.render(w, http.StatusOK, "code", s, page{Title: "Azonosítás hitelesítő alkalmazással", Alert: alert})
}

func (srv *Server) successPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := srv.sessions.view(s)
	info, ok := srv.store.Info(v.plusUser)
	if !v.plusDone || !ok {
		srv.redirect(w, r, "/plusz")
		return
	}
	p := page{Title: "Sikeres bejelentkezés", Name: info.Name, Username: info.Username, LoggedIn: true, DAP: v.method == methodDAP}
	if srv.fault(FaultNoName) {
		p.Name = "Felhasználó"
	}
	srv.render(w, http.StatusOK, "success", s, p)
}

func (srv *Server) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if _, ok := srv.form(w, r, s); !ok {
		return
	}
	srv.sessions.end(w, r, s)
	srv.redirect(w, r, "/")
}

// user returns the user logged in with the password-only Ügyfélkapu, or
// redirects to its login and returns "".
func (srv *Server) user(w http.ResponseWriter, r *http.Request, s *session) string {
	v := srv.sessions.view(s)
	if _, ok := srv.store.Info(v.user); v.user == "" || !ok {
		srv.redirect(w, r, "/ugyfelkapu")
		return ""
	}
	return v.user
}

func (srv *Server) greeting(w http.ResponseWriter, r *http.Request, s *session) {
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	info, _ := srv.store.Info(u)
	var notice string
	srv.sessions.update(s, func(s *session) { notice, s.notice = s.notice, "" })
	srv.render(w, http.StatusOK, "greeting", s, page{
		Title: "Ügyfélkapu", Name: info.Name, Username: info.Username,
		Enrolled: srv.store.Enrolled(u), Notice: notice, LoggedIn: true,
	})
}

func (srv *Server) intro(w http.ResponseWriter, r *http.Request, s *session) {
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	if srv.store.Enrolled(u) {
		srv.redirect(w, r, "/ugyfelkapu/fiok")
		return
	}
	srv.render(w, http.StatusOK, "intro", s, page{Title: "Ügyfélkapu+ igénylése"})
}

func (srv *Server) enrollPage(w http.ResponseWriter, r *http.Request, s *session) {
	srv.showEnroll(w, r, s, "", "")
}

// showEnroll renders the enrollment page with the pending secret, which
// stays the same until Befejezés (SPEC §7).
func (srv *Server) showEnroll(w http.ResponseWriter, r *http.Request, s *session, alert, field string) {
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	secret, confirmed, err := srv.accounts(r).Enroll(u)
	switch {
	case errors.Is(err, account.ErrEnrolled):
		srv.redirect(w, r, "/ugyfelkapu/fiok")
		return
	case err != nil:
		srv.errorPage(w, r, http.StatusInternalServerError, "Az összerendelés nem indítható.")
		return
	case confirmed:
		// SPEC §7: after a successful Tovább, back to the törlőkód.
		srv.redirect(w, r, "/ugyfelkapu/plusz/torlokod")
		return
	}
	uri := keyURI(u, secret, srv.fault(FaultRawPlus))
	if srv.fault(FaultSHA256) {
		uri = strings.Replace(uri, "algorithm=SHA1", "algorithm=SHA256", 1)
	}
	qrText := uri
	if srv.fault(FaultQRDiffers) {
		qrText = keyURI(u, otherSecret(secret), false)
	}
	qr, side, err := qrPNG(qrText)
	if err != nil {
		srv.errorPage(w, r, http.StatusInternalServerError, "A QR-kód nem készíthető el.")
		return
	}
	key := secret
	if srv.fault(FaultKeyDiffers) {
		key = otherSecret(secret)
	}
	srv.render(w, http.StatusOK, "enroll", s, page{
		Title: "Ügyfélkapu+ összerendelés", Alert: alert, Field: field,
		QR: template.URL(qr), QRSize: side, URI: template.URL(uri), ManualKey: groupKey(key),
	})
}

func (srv *Server) enrollPost(w http.ResponseWriter, r *http.Request, s *session) {
	f, ok := srv.form(w, r, s, "password", "code")
	if !ok {
		return
	}
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	if _, _, err := srv.accounts(r).Enroll(u); errors.Is(err, account.ErrEnrolled) {
		srv.redirect(w, r, "/ugyfelkapu/fiok")
		return
	}
	_, err := srv.accounts(r).ConfirmEnrollment(u, f["password"], f["code"])
	switch {
	case err == nil:
		srv.redirect(w, r, "/ugyfelkapu/plusz/torlokod")
	case errors.Is(err, account.ErrBadPassword):
		srv.showEnroll(w, r, s, alertBadPassword, "password")
	default:
		srv.showEnroll(w, r, s, alertBadCode, "code")
	}
}

func (srv *Server) recoveryPage(w http.ResponseWriter, r *http.Request, s *session) {
	srv.showRecovery(w, r, s, "")
}

func (srv *Server) showRecovery(w http.ResponseWriter, r *http.Request, s *session, alert string) {
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	rc, err := srv.accounts(r).Recovery(u)
	if err != nil {
		srv.redirect(w, r, "/ugyfelkapu/plusz/osszerendeles")
		return
	}
	srv.render(w, http.StatusOK, "recovery", s, page{Title: "Törlőkód", Alert: alert, Recovery: groupKey(rc)})
}

func (srv *Server) recoveryPost(w http.ResponseWriter, r *http.Request, s *session) {
	f, ok := srv.form(w, r, s)
	if !ok {
		return
	}
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	_, saved := f["saved"]
	switch err := srv.accounts(r).Finish(u, saved); {
	case err == nil:
		srv.sessions.update(s, func(s *session) { s.enrolled = true })
		srv.redirect(w, r, "/ugyfelkapu/plusz/kesz")
	case errors.Is(err, account.ErrNotConfirmed):
		srv.showRecovery(w, r, s, alertNotSaved)
	default:
		srv.redirect(w, r, "/ugyfelkapu/fiok")
	}
}

// enrolled is the success page of an enrollment: shown once, right after
// Befejezés, never by URL alone.
func (srv *Server) enrolled(w http.ResponseWriter, r *http.Request, s *session) {
	if srv.user(w, r, s) == "" {
		return
	}
	var just bool
	srv.sessions.update(s, func(s *session) { just, s.enrolled = s.enrolled, false })
	if !just {
		srv.redirect(w, r, "/ugyfelkapu/fiok")
		return
	}
	srv.render(w, http.StatusOK, "message", s, page{
		Title: "Sikeres igénylés", Heading: "Az Ügyfélkapu+ megrendelése sikeresen megtörtént!",
		Paragraphs: []string{"Az eredményes összerendelés után már az Ügyfélkapu+-szal tudsz bejelentkezni a mobilapp használatával."},
		LoggedIn:   true, Back: "/ugyfelkapu/fiok", BackText: "Vissza az Ügyfélkapuba",
	})
}

func (srv *Server) revokePage(w http.ResponseWriter, r *http.Request, s *session) {
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	if !srv.store.Enrolled(u) {
		srv.redirect(w, r, "/ugyfelkapu/fiok")
		return
	}
	p := page{Title: "Ügyfélkapu+ megszüntetése"}
	if srv.accounts(r).Locked(u) {
		p.Alert = alertLocked
	}
	srv.render(w, http.StatusOK, "revoke", s, p)
}

func (srv *Server) revokePost(w http.ResponseWriter, r *http.Request, s *session) {
	f, ok := srv.form(w, r, s, "recovery")
	if !ok {
		return
	}
	u := srv.user(w, r, s)
	if u == "" {
		return
	}
	alert := ""
	switch err := srv.accounts(r).Revoke(u, f["recovery"]); {
	case err == nil:
		// Ending Ügyfélkapu+ ends the user's Ügyfélkapu+ sessions everywhere.
		srv.sessions.endPlus(u)
		// SPEC §7: the notice is shown on the greeting page.
		srv.sessions.update(s, func(s *session) { s.notice = noticeRevoked })
		srv.redirect(w, r, "/ugyfelkapu/fiok")
		return
	case errors.Is(err, account.ErrNotEnrolled):
		srv.redirect(w, r, "/ugyfelkapu/fiok")
		return
	case errors.Is(err, account.ErrLocked):
		alert = alertLocked
	default:
		alert = alertBadRecovery
	}
	srv.render(w, http.StatusOK, "revoke", s, page{Title: "Ügyfélkapu+ megszüntetése", Alert: alert})
}

// otherSecret is a different secret of the same length, for faults.
func otherSecret(secret string) string {
	b := []byte(secret)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}
