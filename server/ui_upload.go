package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/store"
)

// The upload page (spec 6): the home page of the site. The page script
// (ui/static/upload.js) sends each queued file as its own POST /upload, the
// web twin of the API upload: same fields, same pipeline (storeUpload), same
// success JSON, but the uploader is the browser's session (or its guest
// cookie) and the CSRF header replaces the API key.

// uploadFormats are the formats the page lists and pre-checks: what
// imaging accepts (spec 5.1), in the page's order.
var uploadFormats = []struct{ label, mime, exts string }{
	{"JPG", "image/jpeg", ".jpg,.jpeg,.jpe"},
	{"PNG", "image/png", ".png"},
	{"GIF", "image/gif", ".gif"},
	{"WEBP", "image/webp", ".webp"},
	{"BMP", "image/bmp", ".bmp"},
}

// expiryPresets are Chevereto V4's auto-delete choices (spec 5.9).
var expiryPresets = []string{
	"PT5M", "PT15M", "PT30M", "PT1H", "PT3H", "PT6H", "PT12H",
	"P1D", "P2D", "P3D", "P4D", "P5D", "P6D", "P1W", "P2W", "P3W",
	"P1M", "P2M", "P3M", "P4M", "P5M", "P6M", "P1Y",
}

// expiryNever is the web form's value for "Don't autodelete": it keeps a
// logged-in user's upload from getting the site's default auto-delete.
const expiryNever = "never"

// uploadPage is the upload page's own data.
type uploadPage struct {
	// CanUpload is false for guests while guest uploads are off: the page
	// then asks them to log in.
	CanUpload bool
	Albums    []uploadAlbum
	ToAlbum   string // album preselected by ?toAlbum=ID (an album of the user)
	Formats   string // "JPG PNG GIF WEBP BMP"
	Accept    string // the file input's accept list
	MIMEs     string // the accepted types, for the script's checks
	MaxBytes  int64
	MaxSize   string // "25 MB"
	Expiry    []expiryOption
}

type uploadAlbum struct{ ID, Title string }

type expiryOption struct {
	Value, Label string
	Selected     bool
}

// handleHome shows the upload page, the home page of the site.
func (s *Server) handleHome(c echo.Context) error {
	v := visitorOf(c)
	conf := s.site()
	d := uploadPage{
		CanUpload: v.LoggedIn || conf.GuestUploads,
		MaxBytes:  conf.MaxUpload,
		MaxSize:   sizeFormatted(conf.MaxUpload),
		Expiry:    s.expiryOptions(v, conf.DefaultExpiry),
	}
	var labels, accept, mimes []string
	for _, f := range uploadFormats {
		labels = append(labels, f.label)
		accept = append(accept, f.mime, f.exts)
		mimes = append(mimes, f.mime)
	}
	d.Formats, d.Accept, d.MIMEs = strings.Join(labels, " "), strings.Join(accept, ","), strings.Join(mimes, ",")
	if v.LoggedIn {
		albums, err := s.store.Albums(v.User.ID)
		if err != nil {
			return err
		}
		want := c.QueryParam("toAlbum")
		for _, a := range albums {
			id := s.store.EncodeID(a.ID)
			d.Albums = append(d.Albums, uploadAlbum{ID: id, Title: a.Title})
			if id == want {
				d.ToAlbum = id
			}
		}
	}
	return s.render(c, http.StatusOK, "home.html", pageData{Title: s.t(v, "Upload images"), Nav: "upload", Script: "upload.js", Data: d})
}

// handleUploadPage answers /upload, Chevereto's upload page path (and its
// ?toAlbum=ID link), with the home page.
func (s *Server) handleUploadPage(c echo.Context) error {
	to := "/"
	if a := c.QueryParam("toAlbum"); a != "" {
		to += "?toAlbum=" + url.QueryEscape(a)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// expiryOptions are the auto-delete choices of v, the site's default
// selected. A default that is no preset gets an option of its own. Guests
// cannot opt out of a default.
func (s *Server) expiryOptions(v *visitor, def time.Duration) []expiryOption {
	var out []expiryOption
	if def == 0 || v.LoggedIn {
		out = append(out, expiryOption{Value: expiryNever, Label: s.t(v, "Don't autodelete"), Selected: def == 0})
	}
	matched := def == 0
	for _, p := range expiryPresets {
		d, _ := parseExpiration(p)
		o := expiryOption{Value: p, Label: s.expiryLabel(v, d), Selected: d == def}
		if o.Selected {
			matched = true
		}
		out = append(out, o)
	}
	if !matched {
		secs := strconv.FormatInt(int64(min(max(def, minExpiry), maxExpiry)/time.Second), 10)
		custom := expiryOption{Value: secs, Label: s.expiryLabel(v, def), Selected: true}
		out = append([]expiryOption{custom}, out...)
	}
	return out
}

// expiryLabel names an auto-delete delay in its largest whole unit.
func (s *Server) expiryLabel(v *visitor, d time.Duration) string {
	const day = 24 * time.Hour
	units := []struct {
		d          time.Duration
		one, other string
	}{
		{365 * day, "After 1 year", "After {n} years"},
		{30 * day, "After 1 month", "After {n} months"},
		{7 * day, "After 1 week", "After {n} weeks"},
		{day, "After 1 day", "After {n} days"},
		{time.Hour, "After 1 hour", "After {n} hours"},
	}
	for _, u := range units {
		if d >= u.d && d%u.d == 0 {
			if n := d / u.d; n > 1 {
				return s.t(v, u.other, "n", int64(n))
			}
			return s.t(v, u.one)
		}
	}
	return s.t(v, "After {n} minutes", "n", int64(max(d, time.Minute)/time.Minute))
}

// Refusals of the web upload beyond the API's.
var (
	errGuestUploadsOff = &apiError{"Guest uploads are off. Log in to upload.", 403, ctxRequest}
	errNotYourAlbum    = &apiError{"That album does not exist or is not yours.", 400, ctxRequest}
)

// handleWebUpload answers POST /upload (spec 6.3): one file (or URL) of the
// upload page's queue. The fields are the API's (source, title,
// description, width, nsfw, expiration) plus album_id, an album of the
// user. The answer is the API's success JSON, or its error JSON with the
// message in the visitor's language.
func (s *Server) handleWebUpload(c echo.Context) error {
	v := visitorOf(c)
	r := c.Request()
	req := &apiRequest{method: http.MethodPost, fields: map[string]string{}, bodyRead: s.guardSlowBody(c.Response(), r)}
	body := r.Body // before parseAPIBody limits it; drained on errors
	img, err := s.webUpload(c, v, req)
	if err != nil {
		// The browser sends the whole file before it reads the answer:
		// drain it, so the page shows the refusal, not a reset.
		io.CopyN(io.Discard, body, maxDrainBytes)
		s.writeWebUploadError(c.Response(), v, s.toAPIError(err))
		return nil
	}
	who := v.User.Name
	if !v.LoggedIn {
		who = "guest"
	}
	s.log.Info("image uploaded", slog.Uint64("image_id", img.ID), slog.String("file", img.File(store.Full)),
		slog.Int64("bytes", img.Size), slog.String("user", who), slog.String("ip", c.RealIP()), slog.String("via", "web"))
	req.imgbb = false
	delete(req.fields, "format") // always JSON
	s.writeAPISuccess(c.Response(), r, req, img)
	return nil
}

// webUpload checks the uploader, reads the body, checks the album and
// stores the upload.
func (s *Server) webUpload(c echo.Context, v *visitor, req *apiRequest) (store.Image, error) {
	if !v.LoggedIn && !s.site().GuestUploads {
		return store.Image{}, errGuestUploadsOff
	}
	up, err := s.store.NewUpload()
	if err != nil {
		return store.Image{}, err
	}
	defer up.Discard()
	// No key: the session (checked with its CSRF token) is the credential.
	noKey := func(string) error { return nil }
	if err := s.parseAPIBody(c.Request(), req, up, noKey); err != nil {
		return store.Image{}, err
	}
	req.bodyRead()

	var who uploadParams
	if v.LoggedIn {
		who.owner = v.User
		who.noExpiry = req.get("expiration") == expiryNever
	} else {
		who.guestID = s.guestID(v)
	}
	if who.album, err = s.ownAlbum(who.owner, req.get("album_id")); err != nil {
		return store.Image{}, err // guests (owner id 0) have no albums
	}
	img, _, err := s.storeUpload(c, req, up, who)
	return img, err
}

// writeWebUploadError answers a refused web upload in Chevereto's error
// shape (spec 3.1). Unlike the API's, the HTTP status of a refused guest
// is 403 and the message is in the visitor's language.
func (s *Server) writeWebUploadError(w http.ResponseWriter, v *visitor, e *apiError) {
	status := http.StatusBadRequest
	if e == errGuestUploadsOff {
		status = http.StatusForbidden
	}
	doc := object{
		{"status_code", status},
		{"error", object{{"message", s.webErrorText(v, e)}, {"code", e.Code}, {"context", e.Context}}},
		{"status_txt", http.StatusText(status)},
	}
	setAPIHeaders(w, s.now(), "application/json; charset=UTF-8")
	w.WriteHeader(status)
	w.Write(appendPHPJSON(nil, doc))
}

// webErrorMessages are the API's fixed error messages that the upload page
// shows translated (ui/i18n/upload.json).
var webErrorMessages = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range []*apiError{
		errEmptySource, errBase64GET, errBadBase64, errDuplicate, errURLForbidden,
		errTooManyFields, errFieldTooLong, errBadRequestBody, errNoSourceInfo,
		errInvalidImage, errUnavailFormat, errNoSpace, errInternal, errBusy,
		errURLNonPublic, errURLSelf, errGuestUploadsOff, errNotYourAlbum,
	} {
		m[e.Message] = true
	}
	return m
}()

// webErrorPatterns translate the API's messages that carry a value.
var webErrorPatterns = []struct {
	re  *regexp.Regexp
	key string // translation key; {x} is the first group
}{
	{regexp.MustCompile(`^File too big - max (.+)$`), "File too big - max {x}"},
	{regexp.MustCompile(`^Image too large - max (\d+) megapixels$`), "Image too large - max {x} megapixels"},
	{regexp.MustCompile("^Unsupported URL scheme `(.*)`$"), "Unsupported URL scheme `{x}`"},
	{regexp.MustCompile(`^Flooding detected\. You can only upload (\d+) images per minute$`), "Flooding detected. You can only upload {x} images per minute"},
	{regexp.MustCompile(`^Flooding detected\. You can only upload (\d+) images per hour$`), "Flooding detected. You can only upload {x} images per hour"},
	{regexp.MustCompile(`^Flooding detected\. You can only upload (\d+) images per day$`), "Flooding detected. You can only upload {x} images per day"},
	{regexp.MustCompile(`^Flooding detected\. You can only upload (\d+) images per week$`), "Flooding detected. You can only upload {x} images per week"},
	{regexp.MustCompile(`^Flooding detected\. You can only upload (\d+) images per month$`), "Flooding detected. You can only upload {x} images per month"},
}

// webErrorText is e's message in v's language; messages the upload page
// does not know stay in English.
func (s *Server) webErrorText(v *visitor, e *apiError) string {
	if webErrorMessages[e.Message] {
		return s.t(v, e.Message)
	}
	for _, p := range webErrorPatterns {
		if m := p.re.FindStringSubmatch(e.Message); m != nil {
			return s.t(v, p.key, "x", m[1])
		}
	}
	return e.Message
}
