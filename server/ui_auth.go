package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/store"
)

// authForm is what the account pages echo back into their forms.
type authForm struct {
	Login    string
	Name     string
	Email    string
	Remember bool
	Next     string
}

func (s *Server) renderAuth(c echo.Context, status int, page, title, msg string, f authForm) error {
	return s.render(c, status, page, pageData{Title: s.t(visitorOf(c), title), Error: msg, Data: f})
}

func minutesLeft(d time.Duration) string {
	return strconv.Itoa(int(d/time.Minute) + 1)
}

// handleSetupForm shows the installer: the first admin account.
func (s *Server) handleSetupForm(c echo.Context) error {
	if s.hasAdmin.Load() {
		return echo.ErrNotFound
	}
	return s.renderAuth(c, http.StatusOK, "setup.html", "Create the admin account", "", authForm{})
}

// handleSetup creates the first admin and logs them in. The store refuses
// if an admin appeared meanwhile (two browsers racing through the installer).
func (s *Server) handleSetup(c echo.Context) error {
	if s.hasAdmin.Load() {
		return echo.ErrNotFound
	}
	f := authForm{Name: strings.TrimSpace(c.FormValue("username")), Email: strings.TrimSpace(c.FormValue("email"))}
	v := visitorOf(c)
	pw := c.FormValue("password")
	if pw != c.FormValue("password2") {
		return s.renderAuth(c, http.StatusBadRequest, "setup.html", "Create the admin account", s.t(v, "The passwords do not match."), f)
	}
	u, err := s.store.CreateFirstAdmin(f.Name, f.Email, pw)
	if errors.Is(err, store.ErrConflict) {
		if ok, _ := s.store.HasAdmin(); ok {
			s.hasAdmin.Store(true)
			return c.Redirect(http.StatusSeeOther, "/login")
		}
	}
	if err != nil {
		return s.renderAuth(c, http.StatusBadRequest, "setup.html", "Create the admin account", s.accountError(v, err), f)
	}
	s.hasAdmin.Store(true)
	s.log.Info("admin created in the installer", "user", u.Name, "ip", c.RealIP())
	if err := s.startSession(c, u, false); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// accountError turns a store refusal of a user name, e-mail or password
// into a sentence for the form.
func (s *Server) accountError(v *visitor, err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, store.ErrConflict) && strings.Contains(msg, "mail"):
		return s.t(v, "That e-mail address is already used by another account.")
	case errors.Is(err, store.ErrConflict):
		return s.t(v, "That user name is taken.")
	case errors.Is(err, store.ErrInvalid) && strings.Contains(msg, "password"):
		return s.t(v, "The password must be {min} to {max} characters.", "min", store.MinPasswordLen, "max", store.MaxPasswordLen)
	case errors.Is(err, store.ErrInvalid) && strings.Contains(msg, "mail"):
		return s.t(v, "That e-mail address does not look right.")
	case errors.Is(err, store.ErrInvalid):
		return s.t(v, "The user name must be {min} to {max} letters, digits or _.", "min", store.MinUserNameLen, "max", store.MaxUserNameLen)
	}
	s.log.Error("account change failed", "err", err)
	return s.t(v, "Something went wrong on the server. Try again.")
}

func (s *Server) handleLoginForm(c echo.Context) error {
	if visitorOf(c).LoggedIn {
		return c.Redirect(http.StatusSeeOther, localPath(c.QueryParam("next")))
	}
	return s.renderAuth(c, http.StatusOK, "login.html", "Log in", "", authForm{Next: localPath(c.QueryParam("next"))})
}

func (s *Server) handleLogin(c echo.Context) error {
	v := visitorOf(c)
	f := authForm{
		Login: strings.TrimSpace(c.FormValue("login")), Remember: c.FormValue("remember") != "",
		Next: localPath(c.FormValue("next")),
	}
	ip, now := c.RealIP(), s.now()
	if len(f.Login) > store.MaxEmailLen {
		// Longer than any name or address: no account, and not worth a
		// lookup, a throttling entry of its size or a log line.
		s.logins.ByIP.Fail(ip, now)
		f.Login = ""
		return s.renderAuth(c, http.StatusUnauthorized, "login.html", "Log in", s.t(v, "Wrong user name, e-mail or password."), f)
	}
	// The per-account count is kept under the name of the account the
	// login names, by name or by e-mail alike, so switching between the
	// two (or their case) gains no attempts; a login that names no
	// account counts as itself.
	subject, device := f.Login, ""
	if u, err := s.store.UserByLogin(f.Login); err == nil {
		subject = u.Name
		device, _ = s.knownDevice(c.Request(), u.ID)
	}
	if wait, blocked := s.logins.Blocked(ip, subject, device, now); blocked {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		return s.renderAuth(c, http.StatusTooManyRequests, "login.html", "Log in",
			s.t(v, "Too many failed logins. Try again in {n} minutes.", "n", minutesLeft(wait)), f)
	}
	u, err := s.store.CheckPassword(f.Login, c.FormValue("password"))
	if errors.Is(err, store.ErrUnauthorized) {
		s.logins.Fail(ip, subject, device, now)
		s.log.Info("login failed", "login", f.Login, "ip", ip)
		return s.renderAuth(c, http.StatusUnauthorized, "login.html", "Log in", s.t(v, "Wrong user name, e-mail or password."), f)
	}
	if err != nil {
		return err
	}
	if err := s.startSession(c, u, f.Remember); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, f.Next)
}

func (s *Server) handleLogout(c echo.Context) error {
	v := visitorOf(c)
	if v.LoggedIn {
		if err := s.store.DeleteSession(v.token); err != nil {
			return err
		}
	}
	s.setCookie(c, sessionCookie, "", -1, true)
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) handleSignupForm(c echo.Context) error {
	if !s.site.Settings().Signups {
		return echo.ErrNotFound
	}
	if visitorOf(c).LoggedIn {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.renderAuth(c, http.StatusOK, "signup.html", "Sign up", "", authForm{})
}

func (s *Server) handleSignup(c echo.Context) error {
	if !s.site.Settings().Signups {
		return echo.ErrNotFound
	}
	v := visitorOf(c)
	f := authForm{Name: strings.TrimSpace(c.FormValue("username")), Email: strings.TrimSpace(c.FormValue("email"))}
	ip, now := c.RealIP(), s.now()
	if wait, blocked := s.logins.Signups.Blocked(ip, now); blocked {
		return s.renderAuth(c, http.StatusTooManyRequests, "signup.html", "Sign up",
			s.t(v, "Too many sign-ups from your address. Try again in {n} minutes.", "n", minutesLeft(wait)), f)
	}
	pw := c.FormValue("password")
	if pw != c.FormValue("password2") {
		return s.renderAuth(c, http.StatusBadRequest, "signup.html", "Sign up", s.t(v, "The passwords do not match."), f)
	}
	u, err := s.store.CreateUserWithEmail(f.Name, f.Email, pw, false)
	if err != nil {
		return s.renderAuth(c, http.StatusBadRequest, "signup.html", "Sign up", s.accountError(v, err), f)
	}
	s.logins.Signups.Fail(ip, now) // counts accounts made, not failures
	s.log.Info("user signed up", "user", u.Name, "ip", ip)
	if err := s.startSession(c, u, false); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// accountData is what the account page shows.
type accountData struct {
	Email string
	Done  string
}

func (s *Server) handleAccount(c echo.Context) error {
	v := visitorOf(c)
	done := ""
	switch c.QueryParam("done") {
	case "password":
		done = s.t(v, "Your password was changed. Other browsers were logged out.")
	case "email":
		done = s.t(v, "Your e-mail address was saved.")
	}
	return s.render(c, http.StatusOK, "account.html", pageData{Title: s.t(v, "Account"), Nav: "account", Data: accountData{Email: v.User.Email, Done: done}})
}

// handlePassword changes the visitor's password after checking the current
// one. Every other session of the user ends; this browser gets a new one.
func (s *Server) handlePassword(c echo.Context) error {
	v := visitorOf(c)
	fail := func(status int, msg string) error {
		return s.render(c, status, "account.html", pageData{Title: s.t(v, "Account"), Nav: "account", Error: msg, Data: accountData{Email: v.User.Email}})
	}
	// The current password is throttled like a login: a stolen session
	// must not become a way to guess it without limit.
	if wait, blocked := s.logins.Blocked(c.RealIP(), v.User.Name, "", s.now()); blocked {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		return fail(http.StatusTooManyRequests, s.t(v, "Too many failed logins. Try again in {n} minutes.", "n", minutesLeft(wait)))
	}
	if err := s.store.CheckUserPassword(v.User.ID, c.FormValue("current")); err != nil {
		if errors.Is(err, store.ErrUnauthorized) {
			s.logins.Fail(c.RealIP(), v.User.Name, "", s.now())
			return fail(http.StatusUnauthorized, s.t(v, "The current password is wrong."))
		}
		return err
	}
	pw := c.FormValue("password")
	if pw != c.FormValue("password2") {
		return fail(http.StatusBadRequest, s.t(v, "The passwords do not match."))
	}
	if err := s.store.SetPassword(v.User.ID, pw); err != nil {
		return fail(http.StatusBadRequest, s.accountError(v, err))
	}
	v.LoggedIn = false // SetPassword ended every session, this one too
	if err := s.startSession(c, v.User, v.Session.Persistent); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=password")
}

func (s *Server) handleEmail(c echo.Context) error {
	v := visitorOf(c)
	if err := s.store.SetUserEmail(v.User.ID, strings.TrimSpace(c.FormValue("email"))); err != nil {
		return s.render(c, http.StatusBadRequest, "account.html", pageData{Title: s.t(v, "Account"), Nav: "account", Error: s.accountError(v, err), Data: accountData{Email: c.FormValue("email")}})
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=email")
}

// handleLang remembers the language picked in the footer and goes back.
func (s *Server) handleLang(c echo.Context) error {
	lang, ok := parseLang(c.FormValue("lang"))
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "Unknown language.")
	}
	s.setCookie(c, langCookie, lang, guestCookieTTL, false)
	return c.Redirect(http.StatusSeeOther, localPath(c.FormValue("back")))
}

// t translates key for v's language.
func (s *Server) t(v *visitor, key string, args ...any) string {
	return s.i18n.translate(v.Lang, key, args...)
}
