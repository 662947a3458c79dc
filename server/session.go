package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/store"
)

// Cookies and lifetimes of browser sessions.
const (
	sessionCookie = "pb_session"
	// guestCookie identifies a browser without a login: it keys its CSRF
	// token and marks its guest uploads so a later login can claim them.
	guestCookie = "pb_guest"
	themeCookie = "pb_theme"
	// sessionTTL is the life of a login without "keep me logged in"; the
	// cookie itself ends with the browser session.
	sessionTTL = 24 * time.Hour
	// persistentSessionTTL is the life of a "keep me logged in" login.
	persistentSessionTTL = 30 * 24 * time.Hour
	// guestCookieTTL keeps a guest's claim on their uploads for a year.
	guestCookieTTL = 365 * 24 * time.Hour
	// deviceCookie marks a browser that logged in to an account before: it
	// may still log in to that account while the account is throttled for
	// failed logins from elsewhere (OWASP's "device cookies").
	deviceCookie = "pb_device"
	// deviceCookieTTL is how long a browser stays known to an account.
	deviceCookieTTL = 365 * 24 * time.Hour
	// csrfField and csrfHeader carry the CSRF token of forms and scripts.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	// maxFormBytes bounds the body of a non-upload form post.
	maxFormBytes = 1 << 20
)

// visitor is who sent a browser request: a logged-in user or a guest.
type visitor struct {
	User     store.User
	LoggedIn bool
	Session  store.Session
	Lang     string
	Theme    string // "light", "dark" or "" (follow the system)
	token    string // session token, when logged in
	guest    string // guest cookie value, when not
}

const visitorKey = "picbed.visitor"

// visitorOf returns the visitor loadVisitor stored in c.
func visitorOf(c echo.Context) *visitor {
	if v, ok := c.Get(visitorKey).(*visitor); ok {
		return v
	}
	return &visitor{Lang: langEN}
}

// secureCookies reports whether cookies for r must be Secure: the request
// came over TLS, directly or through a trusted proxy, or the site URL is https.
func (s *Server) secureCookies(r *http.Request) bool {
	return strings.HasPrefix(s.site.SiteURL(r), "https://")
}

func (s *Server) setCookie(c echo.Context, name, value string, maxAge time.Duration, httpOnly bool) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: httpOnly,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c.Request()),
	}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge / time.Second)
	}
	c.SetCookie(ck)
}

// loadVisitor is the middleware of every browser route: it finds the
// session or guest cookie, the language and the theme.
func (s *Server) loadVisitor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		// Every answer to a browser route carries the pages' security
		// headers: redirects, JSON and errors too, not only rendered pages.
		s.setPageHeaders(c.Response(), r)
		v := &visitor{Lang: pickLang(r)}
		if ck, err := r.Cookie(themeCookie); err == nil && (ck.Value == "light" || ck.Value == "dark") {
			v.Theme = ck.Value
		}
		if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
			sess, u, err := s.store.Session(ck.Value, s.now())
			switch {
			case err == nil:
				v.User, v.Session, v.LoggedIn, v.token = u, sess, true, ck.Value
			case errors.Is(err, store.ErrUnauthorized), errors.Is(err, store.ErrNotFound):
				s.setCookie(c, sessionCookie, "", -1, true) // expired or revoked
			default:
				return err
			}
		}
		if ck, err := r.Cookie(guestCookie); err == nil && s.validSigned("guest", ck.Value) {
			v.guest = ck.Value
		} else {
			s.newGuest(c, v)
		}
		c.Set(visitorKey, v)
		return next(c)
	}
}

// newGuest gives v a new guest id, issued by this server: a signed random
// value (signed), so a cookie a client (or a sibling site that can set
// cookies for this host) made up is never taken as a guest id.
func (s *Server) newGuest(c echo.Context, v *visitor) {
	v.guest = s.signed("guest", randomToken())
	s.setCookie(c, guestCookie, v.guest, guestCookieTTL, true)
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signedMACLen is the length in hex of the MAC of a signed cookie value:
// 128 bits.
const signedMACLen = 32

// signed returns value with this server's MAC for purpose appended:
// "VALUE.MAC".
func (s *Server) signed(purpose, value string) string {
	return value + "." + hex.EncodeToString(s.mac("signed", purpose, value))[:signedMACLen]
}

// validSigned reports whether v was made by signed for purpose.
func (s *Server) validSigned(purpose, v string) bool {
	value, mac, ok := strings.Cut(v, ".")
	if !ok || len(value) > 128 || len(mac) != signedMACLen {
		return false
	}
	return hmac.Equal([]byte(v), []byte(s.signed(purpose, value)))
}

func (s *Server) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.secret)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// knownDevice returns the device of r that logged in to user id before, as
// the key of its own failure count; ok is false without such a cookie.
func (s *Server) knownDevice(r *http.Request, id uint64) (device string, ok bool) {
	ck, err := r.Cookie(deviceCookie)
	if err != nil || !s.validSigned("device", ck.Value) {
		return "", false
	}
	who, _, _ := strings.Cut(ck.Value, "-")
	if who != strconv.FormatUint(id, 10) {
		return "", false
	}
	return "device:" + ck.Value, true
}

// csrfToken is the token forms and scripts of v must send back. It is bound
// to the login session (or the guest cookie), so it changes at login and
// logout and cannot be forged without the server's secret.
func (s *Server) csrfToken(v *visitor) string {
	if v.LoggedIn {
		return hex.EncodeToString(s.mac("csrf", "session", v.token))[:40]
	}
	return hex.EncodeToString(s.mac("csrf", "guest", v.guest))[:40]
}

// guestID is what a guest's uploads record: derived from the cookie, so the
// database does not hold the cookie itself.
func (s *Server) guestID(v *visitor) string {
	return hex.EncodeToString(s.mac("guest-id", v.guest))[:32]
}

// errCSRF is answered to a state-changing request without a valid token.
var errCSRF = echo.NewHTTPError(http.StatusForbidden, "The form has expired or was sent from another site. Go back, reload the page and try again.")

// checkCSRF returns the middleware of state-changing browser requests. The
// token comes from the X-CSRF-Token header (scripts) or the csrf field of a
// url-encoded form; multipart bodies are never parsed for it. A request whose
// Origin names another host is refused as well. With boundBody, every body
// is limited to maxFormBytes and its form parsed whatever carries the
// token: a multipart form would otherwise spill files of any size to the
// temp dir, a url-encoded one be read up to net/http's 10 MB, and a JSON one
// up to what its handler allows. Only the web upload, which limits its own
// body, goes without.
func (s *Server) checkCSRF(boundBody bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return next(c)
			}
			if !s.sameOrigin(r) {
				return errCSRF
			}
			ct := r.Header.Get("Content-Type")
			isForm := strings.HasPrefix(ct, "application/x-www-form-urlencoded")
			got := r.Header.Get(csrfHeader)
			if boundBody || (got == "" && isForm) {
				r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
				var err error
				switch {
				case isForm:
					err = r.ParseForm()
				case boundBody && strings.HasPrefix(ct, "multipart/form-data"):
					err = r.ParseMultipartForm(maxFormBytes)
				}
				if err != nil {
					return formError(err)
				}
			}
			if got == "" && isForm {
				got = r.PostForm.Get(csrfField)
			}
			want := s.csrfToken(visitorOf(c))
			if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
				return errCSRF
			}
			return next(c)
		}
	}
}

// formError is the answer to a form that is too large or unreadable.
func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The form is too large.")
	}
	return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
}

// sameOrigin reports whether r's Origin header, when present, names this
// site: its request host or its configured URL.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // older browsers and same-origin GET-turned-POST; the token decides
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if b, err := url.Parse(s.site.SiteURL(r)); err == nil && strings.EqualFold(u.Host, b.Host) {
		return true
	}
	return false
}

// requireUser lets logged-in users through; a guest's page request goes to
// the login page and comes back afterwards.
func (s *Server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if visitorOf(c).LoggedIn {
			return next(c)
		}
		r := c.Request()
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "Log in to do this.")
	}
}

// requireAdmin lets admins through and refuses everyone else.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return s.requireUser(func(c echo.Context) error {
		if !visitorOf(c).User.Admin {
			return echo.NewHTTPError(http.StatusForbidden, "Only administrators can do this.")
		}
		return next(c)
	})
}

// firstRun sends every browser page to the installer until an admin exists.
func (s *Server) firstRun(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.hasAdmin.Load() {
			return next(c)
		}
		ok, err := s.store.HasAdmin()
		if err != nil {
			return err
		}
		if ok {
			s.hasAdmin.Store(true)
			return next(c)
		}
		// The installer itself, the language switch, and shared image
		// pages (an install scripted with `picbed user add` may have
		// images before it has an admin) stay reachable.
		if p := c.Request().URL.Path; p == "/setup" || p == "/lang" || strings.HasPrefix(p, "/image/") {
			return next(c)
		}
		return c.Redirect(http.StatusSeeOther, "/setup")
	}
}

// localPath returns next if it is a path on this site, else "/": the login
// form must not become an open redirect.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// startSession logs u in on this browser: a new session cookie, and the
// images the browser uploaded as a guest become u's.
func (s *Server) startSession(c echo.Context, u store.User, persistent bool) error {
	v := visitorOf(c)
	if v.LoggedIn {
		s.store.DeleteSession(v.token) // a fresh token at every login: no session fixation
	}
	ttl := sessionTTL
	if persistent {
		ttl = persistentSessionTTL
	}
	token, sess, err := s.store.CreateSession(u.ID, ttl, persistent, c.Request().UserAgent())
	if err != nil {
		return err
	}
	cookieAge := time.Duration(0) // ends with the browser
	if persistent {
		cookieAge = ttl
	}
	s.setCookie(c, sessionCookie, token, cookieAge, true)
	if v.guest != "" {
		if n, err := s.store.ClaimGuestImages(s.guestID(v), u.ID); err != nil {
			s.log.Error("claim guest images", "user", u.Name, "err", err)
		} else if n > 0 {
			s.log.Info("guest images claimed", "user", u.Name, "images", n)
		}
	}
	// A new guest id at every login: whoever knew the old one (a cookie
	// planted before the login) learns nothing of this browser's later
	// guest uploads or forms.
	s.newGuest(c, v)
	// This browser now knows the account (see deviceCookie).
	s.setCookie(c, deviceCookie, s.signed("device", strconv.FormatUint(u.ID, 10)+"-"+randomToken()), deviceCookieTTL, true)
	v.User, v.Session, v.LoggedIn, v.token = u, sess, true, token
	return nil
}
