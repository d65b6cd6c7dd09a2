package mockidp

import (
	"errors"
	"mime"
	"net/http"
	"unicode/utf8"
)

// Limits of a form post: nothing longer is a real login.
const (
	maxFormBytes = 16 << 10
	maxFieldLen  = 256
)

// form reads a POST of s's session: the body must be a url-encoded form
// of at most maxFormBytes carrying the session's CSRF token, every field
// in required exactly once, every other field at most once, each valid
// UTF-8 of at most maxFieldLen bytes. Otherwise it answers 4xx itself and
// returns ok false: nothing changes.
func (srv *Server) form(w http.ResponseWriter, r *http.Request, s *session, required ...string) (map[string]string, bool) {
	if s == nil {
		srv.errorPage(w, r, http.StatusForbidden, "A munkamenet lejárt vagy hiányzik. Kezdje újra a bejelentkezést.")
		return nil, false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		srv.errorPage(w, r, http.StatusUnsupportedMediaType, "A kérés nem űrlap.")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			srv.errorPage(w, r, http.StatusRequestEntityTooLarge, "A kérés túl nagy.")
		} else {
			srv.errorPage(w, r, http.StatusBadRequest, "Hibás űrlap.")
		}
		return nil, false
	}
	vals := r.PostForm
	if len(vals["csrf"]) != 1 || !srv.sessions.csrfOK(s, vals.Get("csrf")) {
		srv.errorPage(w, r, http.StatusForbidden, "Érvénytelen űrlap-azonosító (CSRF). Töltse be újra az oldalt.")
		return nil, false
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) != 1 || len(v[0]) > maxFieldLen || !utf8.ValidString(v[0]) || !utf8.ValidString(k) {
			srv.errorPage(w, r, http.StatusBadRequest, "Hibás űrlapmező.")
			return nil, false
		}
		out[k] = v[0]
	}
	for _, k := range required {
		if _, ok := out[k]; !ok {
			srv.errorPage(w, r, http.StatusBadRequest, "Hiányzó űrlapmező.")
			return nil, false
		}
	}
	return out, true
}
