package server

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// Bounds of the max upload size field, in MB of 1,000,000 bytes as
// Chevereto counts. The store takes 1 byte to 2 GiB; the form keeps to
// round numbers inside that.
const (
	minUploadMB = 0.01
	maxUploadMB = 2147
)

// expiryKey returns the form value of the default auto-delete d: "" for
// never, else its preset (expiryPresets, shared with the upload page), or
// for a duration that is no preset its seconds count, which
// parseExpiration reads back.
func expiryKey(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	for _, p := range expiryPresets {
		if pd, _ := ingest.ParseExpiration(p); pd == d {
			return p
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// option is one <option> of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// settingsForm is the admin settings form as sent (or as saved): strings,
// so that a refused value comes back into the form as typed.
type settingsForm struct {
	SiteName      string
	GuestUploads  bool
	Signups       bool
	URLUploads    bool
	MaxUploadMB   string
	EXIF          string
	Duplicates    string
	DefaultExpiry string
	ImageBaseURL  string
}

// adminSettingsPage is what /admin shows.
type adminSettingsPage struct {
	Form       settingsForm
	Saved      bool // the settings were saved once: flags no longer apply
	Done       string
	Expiries   []option
	Exifs      []option
	Duplicates []option
	// DefaultImageBase is where images are served without an image base URL.
	DefaultImageBase string
	// Ignored are the flags given at start that the saved settings override.
	Ignored []site.IgnoredFlag
}

func formOf(st *site.Settings) settingsForm {
	return settingsForm{
		SiteName: st.SiteName, GuestUploads: st.GuestUploads, Signups: st.Signups, URLUploads: st.URLUploads,
		MaxUploadMB: strconv.FormatFloat(float64(st.MaxUpload)/1e6, 'f', -1, 64),
		EXIF:        st.EXIF.String(), Duplicates: st.Duplicates.String(),
		DefaultExpiry: expiryKey(st.DefaultExpiry), ImageBaseURL: st.ImageBaseURL,
	}
}

func (s *Server) renderAdminSettings(c echo.Context, status int, f settingsForm, msg, done string) error {
	v := visitorOf(c)
	_, saved, err := s.store.Settings()
	if err != nil {
		return err
	}
	opt := func(value, label, cur string) option {
		return option{Value: value, Label: s.t(v, label), Selected: value == cur}
	}
	d := adminSettingsPage{
		Form: f, Saved: saved, Done: done, Ignored: s.site.IgnoredFlags(),
		DefaultImageBase: s.site.SiteURL(c.Request()) + "/images",
		Exifs: []option{
			opt(ingest.StripEXIF.String(), "Remove it (the orientation is kept)", f.EXIF),
			opt(ingest.KeepEXIF.String(), "Keep it", f.EXIF),
		},
		Duplicates: []option{
			opt(ingest.DuplicatesReuse.String(), "Answer with the image already stored", f.Duplicates),
			opt(ingest.DuplicatesReject.String(), "Refuse the upload", f.Duplicates),
			opt(ingest.DuplicatesAllow.String(), "Store another copy", f.Duplicates),
		},
		Expiries: []option{opt("", "Don't autodelete", f.DefaultExpiry)},
	}
	known := f.DefaultExpiry == ""
	for _, p := range expiryPresets {
		pd, _ := ingest.ParseExpiration(p)
		known = known || p == f.DefaultExpiry
		d.Expiries = append(d.Expiries, option{Value: p, Label: s.expiryLabel(v, pd), Selected: p == f.DefaultExpiry})
	}
	if cur, ok := ingest.ParseExpiration(f.DefaultExpiry); !known && ok {
		d.Expiries = append(d.Expiries, option{Value: f.DefaultExpiry, Label: s.expiryLabel(v, cur), Selected: true})
	}
	return s.render(c, status, "admin.html", pageData{Title: s.t(v, "Site settings"), Nav: "admin", Error: msg, Data: d})
}

// handleAdminSettings shows the site settings form with the settings in
// force: the saved ones, or the command-line flags' until a first save.
func (s *Server) handleAdminSettings(c echo.Context) error {
	done := ""
	if c.QueryParam("done") == "saved" {
		done = s.t(visitorOf(c), "The settings were saved. They apply from now on, to the pages and to the API.")
	}
	return s.renderAdminSettings(c, http.StatusOK, formOf(s.site.Settings()), "", done)
}

// handleAdminSettingsSave checks the form and saves it; the new settings
// apply to the next request. A refused form saves nothing and comes back
// with its values and the reason.
func (s *Server) handleAdminSettingsSave(c echo.Context) error {
	v := visitorOf(c)
	f := settingsForm{
		SiteName:      strings.TrimSpace(c.FormValue("site_name")),
		GuestUploads:  c.FormValue("guest_uploads") != "",
		Signups:       c.FormValue("signups") != "",
		URLUploads:    c.FormValue("url_uploads") != "",
		MaxUploadMB:   strings.TrimSpace(c.FormValue("max_upload_mb")),
		EXIF:          c.FormValue("exif"),
		Duplicates:    c.FormValue("duplicates"),
		DefaultExpiry: c.FormValue("default_expiry"),
		ImageBaseURL:  strings.TrimSpace(c.FormValue("image_base_url")),
	}
	st, msg := s.settingsFromForm(v, f)
	if msg != "" {
		return s.renderAdminSettings(c, http.StatusBadRequest, f, msg, "")
	}
	if err := s.site.SaveSettings(*st); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			// The form checks what the store does; this is a rule the
			// form does not know yet.
			return s.renderAdminSettings(c, http.StatusBadRequest, f, s.t(v, "The settings were not saved: {reason}", "reason", err.Error()), "")
		}
		return err
	}
	s.log.Info("site settings saved", "user", v.User.Name, "max_upload", st.MaxUpload, "guest_uploads", st.GuestUploads,
		"signups", st.Signups, "url_uploads", st.URLUploads, "exif", f.EXIF, "duplicates", st.Duplicates,
		"default_expiry", st.DefaultExpiry, "image_base_url", st.ImageBaseURL)
	return c.Redirect(http.StatusSeeOther, "/admin?done=saved")
}

// settingsFromForm checks f and returns the settings it describes, or a
// message for the form saying what is wrong.
func (s *Server) settingsFromForm(v *visitor, f settingsForm) (*site.Settings, string) {
	st := &site.Settings{
		SiteName: f.SiteName, GuestUploads: f.GuestUploads, Signups: f.Signups, URLUploads: f.URLUploads,
	}
	switch {
	case f.SiteName == "":
		return nil, s.t(v, "Enter a site name.")
	case len(f.SiteName) > store.MaxSiteNameLen || !utf8.ValidString(f.SiteName) || strings.ContainsFunc(f.SiteName, unicode.IsControl):
		return nil, s.t(v, "The site name must be at most {max} bytes of text, without control characters.", "max", store.MaxSiteNameLen)
	}
	mb, err := strconv.ParseFloat(strings.Replace(f.MaxUploadMB, ",", ".", 1), 64)
	if err != nil || math.IsNaN(mb) || mb < minUploadMB || mb > maxUploadMB {
		return nil, s.t(v, "The maximum upload size must be a number of MB from {min} to {max}.", "min", minUploadMB, "max", maxUploadMB)
	}
	st.MaxUpload = int64(math.Round(mb * 1e6))
	if st.EXIF, err = ingest.ParseEXIF(f.EXIF); err != nil {
		return nil, s.t(v, "Choose what happens to the EXIF data of photos.")
	}
	if st.Duplicates, err = ingest.ParseDuplicates(f.Duplicates); err != nil {
		return nil, s.t(v, "Choose what happens to duplicate uploads.")
	}
	if f.DefaultExpiry != "" {
		// The list holds the presets and, when the current default is no
		// preset, that one too.
		d, ok := ingest.ParseExpiration(f.DefaultExpiry)
		listed := slices.Contains(expiryPresets, f.DefaultExpiry) || f.DefaultExpiry == expiryKey(s.site.Settings().DefaultExpiry)
		if !ok || !listed {
			return nil, s.t(v, "Choose a default auto-delete time from the list.")
		}
		st.DefaultExpiry = d
	}
	if f.ImageBaseURL != "" {
		u, err := url.Parse(f.ImageBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(f.ImageBaseURL, "#") {
			return nil, s.t(v, "The image base URL must be an http:// or https:// address without ? or #, or empty.")
		}
		st.ImageBaseURL = strings.TrimRight(f.ImageBaseURL, "/")
	}
	return st, ""
}

// adminUserRow is one line of the users table.
type adminUserRow struct {
	store.User
	Images int
	Self   bool
}

// adminUsersPage is what /admin/users shows.
type adminUsersPage struct {
	Users []adminUserRow
	Done  string
	New   authForm // the add-user form, refilled after a refusal
	Admin bool     // the add-user form's admin box
}

// Results of the user actions, shown after the redirect back to the list.
var adminUserDone = map[string]string{
	"added":          "The user was added.",
	"disabled":       "The user was disabled and logged out everywhere. Their API keys stop working.",
	"enabled":        "The user was enabled.",
	"admin":          "The user is now an administrator.",
	"unadmin":        "The user is no longer an administrator.",
	"deleted":        "The user was deleted. Their images are now guest images.",
	"deleted-images": "The user and their images were deleted.",
	"password":       "The new password is set. The user was logged out everywhere; their API keys still work.",
}

func (s *Server) renderAdminUsers(c echo.Context, status int, msg string, d adminUsersPage) error {
	v := visitorOf(c)
	users, err := s.store.Users()
	if err != nil {
		return err
	}
	for _, u := range users {
		n, err := s.store.CountImages(u.ID)
		if err != nil {
			return err
		}
		d.Users = append(d.Users, adminUserRow{User: u, Images: n, Self: u.ID == v.User.ID})
	}
	return s.render(c, status, "admin_users.html", pageData{Title: s.t(v, "Users"), Nav: "admin", Error: msg, Data: d})
}

// handleAdminUsers lists every user with their image count.
func (s *Server) handleAdminUsers(c echo.Context) error {
	d := adminUsersPage{}
	if key, ok := adminUserDone[c.QueryParam("done")]; ok {
		d.Done = s.t(visitorOf(c), key)
	}
	return s.renderAdminUsers(c, http.StatusOK, "", d)
}

// handleAdminUserAdd creates a user from the add-user form.
func (s *Server) handleAdminUserAdd(c echo.Context) error {
	v := visitorOf(c)
	d := adminUsersPage{
		New:   authForm{Name: strings.TrimSpace(c.FormValue("username")), Email: strings.TrimSpace(c.FormValue("email"))},
		Admin: c.FormValue("admin") != "",
	}
	u, err := s.store.CreateUserWithEmail(d.New.Name, d.New.Email, c.FormValue("password"), d.Admin)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, store.ErrConflict) {
			status = http.StatusConflict
		}
		return s.renderAdminUsers(c, status, s.accountError(v, err), d)
	}
	s.log.Info("user added by an admin", "user", u.Name, "admin", u.Admin, "by", v.User.Name)
	return c.Redirect(http.StatusSeeOther, "/admin/users?done=added")
}

// adminTarget is the user an /admin/users/:id action names; 404 if none.
func (s *Server) adminTarget(c echo.Context) (store.User, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return store.User{}, echo.ErrNotFound
	}
	u, err := s.store.User(id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, echo.ErrNotFound
	}
	return u, err
}

// adminUserRefused shows the users list with why an action was refused.
func (s *Server) adminUserRefused(c echo.Context, err error) error {
	v := visitorOf(c)
	if errors.Is(err, store.ErrConflict) {
		return s.renderAdminUsers(c, http.StatusConflict, s.t(v, "There must always be at least one enabled administrator: make another user an administrator first."), adminUsersPage{})
	}
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	return err
}

// handleAdminUserDisabled disables (disabled=1) or enables (disabled=0) a
// user. Disabling ends their sessions and stops their keys. Admins cannot
// disable themselves here: they would be logged out on the spot.
func (s *Server) handleAdminUserDisabled(c echo.Context) error {
	v := visitorOf(c)
	u, err := s.adminTarget(c)
	if err != nil {
		return err
	}
	disable := c.FormValue("disabled") == "1"
	if disable && u.ID == v.User.ID {
		return s.renderAdminUsers(c, http.StatusBadRequest, s.t(v, "You cannot disable or delete your own account here."), adminUsersPage{})
	}
	if err := s.store.SetUserDisabled(u.ID, disable); err != nil {
		return s.adminUserRefused(c, err)
	}
	s.log.Info("user disabled by an admin", "user", u.Name, "disabled", disable, "by", v.User.Name)
	if disable {
		return c.Redirect(http.StatusSeeOther, "/admin/users?done=disabled")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?done=enabled")
}

// handleAdminUserAdmin grants (admin=1) or removes (admin=0) admin rights.
// An admin may step down while another enabled admin remains; they then
// land on the home page, as the admin pages are closed to them.
func (s *Server) handleAdminUserAdmin(c echo.Context) error {
	v := visitorOf(c)
	u, err := s.adminTarget(c)
	if err != nil {
		return err
	}
	admin := c.FormValue("admin") == "1"
	if err := s.store.SetUserAdmin(u.ID, admin); err != nil {
		return s.adminUserRefused(c, err)
	}
	s.log.Info("admin rights changed", "user", u.Name, "admin", admin, "by", v.User.Name)
	switch {
	case admin:
		return c.Redirect(http.StatusSeeOther, "/admin/users?done=admin")
	case u.ID == v.User.ID:
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?done=unadmin")
}

// handleAdminUserDelete deletes a user with their keys, sessions and
// albums; their images are deleted too (images=delete) or become guest
// images (images=keep).
func (s *Server) handleAdminUserDelete(c echo.Context) error {
	v := visitorOf(c)
	u, err := s.adminTarget(c)
	if err != nil {
		return err
	}
	if u.ID == v.User.ID {
		return s.renderAdminUsers(c, http.StatusBadRequest, s.t(v, "You cannot disable or delete your own account here."), adminUsersPage{})
	}
	var withImages bool
	switch c.FormValue("images") {
	case "delete":
		withImages = true
	case "keep":
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "Choose whether the user's images are deleted too.")
	}
	gone, err := s.store.DeleteUser(u.ID, withImages)
	if err != nil {
		return s.adminUserRefused(c, err)
	}
	s.forgetImages(gone...)
	s.log.Info("user deleted by an admin", "user", u.Name, "images_deleted", len(gone), "by", v.User.Name)
	if withImages {
		return c.Redirect(http.StatusSeeOther, "/admin/users?done=deleted-images")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?done=deleted")
}

// handleAdminUserPassword sets another user's password: picbed sends no
// e-mail, so this is how a forgotten password is replaced. The user's
// sessions end; their API keys keep working. Admins change their own
// password on the account page, which asks for the current one.
func (s *Server) handleAdminUserPassword(c echo.Context) error {
	v := visitorOf(c)
	u, err := s.adminTarget(c)
	if err != nil {
		return err
	}
	if u.ID == v.User.ID {
		return s.renderAdminUsers(c, http.StatusBadRequest, s.t(v, "Change your own password on your account page."), adminUsersPage{})
	}
	if err := s.store.SetPassword(u.ID, c.FormValue("password")); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return s.renderAdminUsers(c, http.StatusBadRequest, s.accountError(v, err), adminUsersPage{})
		}
		return s.adminUserRefused(c, err)
	}
	s.log.Info("password set by an admin", "user", u.Name, "by", v.User.Name)
	return c.Redirect(http.StatusSeeOther, "/admin/users?done=password")
}
