package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/ingest"
	"picbed/server/api/chevereto"
	"picbed/server/site"
	"picbed/store"
)

// The upload page: the home page of the site. The page script
// (ui/static/upload.js) sends each queued file as its own POST /upload, the
// web twin of the API upload: same fields, same pipeline (site.Upload), same
// success JSON, but the uploader is the browser's session (or its guest
// cookie) and the CSRF header replaces the API key.

// uploadFormats are the formats the page lists and pre-checks: what
// imaging accepts, in the page's order.
var uploadFormats = []struct{ label, mime, exts string }{
	{"JPG", "image/jpeg", ".jpg,.jpeg,.jpe"},
	{"PNG", "image/png", ".png"},
	{"GIF", "image/gif", ".gif"},
	{"WEBP", "image/webp", ".webp"},
	{"BMP", "image/bmp", ".bmp"},
}

// expiryPresets are Chevereto V4's auto-delete choices, 5 minutes to a
// year.
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
	conf := s.site.Settings()
	d := uploadPage{
		CanUpload: v.LoggedIn || conf.GuestUploads,
		MaxBytes:  conf.MaxUpload,
		MaxSize:   site.SizeFormatted(conf.MaxUpload),
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
		d, _ := ingest.ParseExpiration(p)
		o := expiryOption{Value: p, Label: s.expiryLabel(v, d), Selected: d == def}
		if o.Selected {
			matched = true
		}
		out = append(out, o)
	}
	if !matched {
		secs := strconv.FormatInt(int64(min(max(def, ingest.MinExpiry), ingest.MaxExpiry)/time.Second), 10)
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

// handleWebUpload answers POST /upload: one file (or URL) of the upload
// page's queue. The fields are the API's (source, title, description,
// width, nsfw, expiration) plus album_id, an album of the user. The answer
// is the API's success JSON, or its error JSON with the message in the
// visitor's language.
func (s *Server) handleWebUpload(c echo.Context) error {
	v := visitorOf(c)
	r := c.Request()
	req := &chevereto.Request{Method: http.MethodPost, Form: &site.Form{Fields: map[string]string{}}}
	bodyRead := s.site.GuardSlowBody(c.Response(), r)
	body := r.Body // before ReadForm limits it; drained on errors
	img, err := s.webUpload(c, v, req, bodyRead)
	if err != nil {
		// The browser sends the whole file before it reads the answer:
		// drain it, so the page shows the refusal, not a reset.
		io.CopyN(io.Discard, body, chevereto.MaxDrainBytes)
		s.writeWebUploadError(c.Response(), v, err)
		return nil
	}
	who := v.User.Name
	if !v.LoggedIn {
		who = "guest"
	}
	s.log.Info("image uploaded", slog.Uint64("image_id", img.ID), slog.String("file", img.File(store.Full)),
		slog.Int64("bytes", img.Size), slog.String("user", who), slog.String("ip", c.RealIP()), slog.String("via", "web"))
	s.chevereto.WriteJSON(c.Response(), r, img)
	return nil
}

// webUpload checks the uploader, reads the body, checks the album and
// stores the upload. No key: the session (checked with its CSRF token) is
// the credential.
func (s *Server) webUpload(c echo.Context, v *visitor, req *chevereto.Request, bodyRead func()) (store.Image, error) {
	if !v.LoggedIn && !s.site.Settings().GuestUploads {
		return store.Image{}, site.ErrGuestUploadsOff
	}
	up, err := s.store.NewUpload()
	if err != nil {
		return store.Image{}, err
	}
	defer up.Discard()
	if err := s.chevereto.ReadForm(c.Request(), up, req.Form, nil); err != nil {
		return store.Image{}, err
	}
	bodyRead()

	in := s.chevereto.Ingest(c, req)
	if v.LoggedIn {
		in.Owner = v.User
		in.NoExpiry = req.Form.Get("expiration") == expiryNever
	} else {
		in.GuestID = s.guestID(v)
	}
	if in.AlbumID, err = s.site.OwnAlbum(in.Owner, req.Form.Get("album_id")); err != nil {
		return store.Image{}, err // guests (owner id 0) have no albums
	}
	return s.site.Upload(c.Request().Context(), up, in)
}

// writeWebUploadError answers a refused web upload in Chevereto's error
// shape, with Chevereto's code. Unlike the API's, the HTTP status of a
// refused guest is 403 and the message is in the visitor's language.
func (s *Server) writeWebUploadError(w http.ResponseWriter, v *visitor, err error) {
	e := chevereto.Describe(err, s.log)
	status := http.StatusBadRequest
	if errors.Is(err, site.ErrGuestUploadsOff) {
		status = http.StatusForbidden
	}
	chevereto.WriteError(w, s.now(), status, s.webRefusal(v, err), e)
}

// webRefusals are the upload page's words for the refusals without
// arguments, as translation keys (ui/i18n/upload.json).
var webRefusals = []struct {
	err error
	key string
}{
	{site.ErrGuestUploadsOff, "Guest uploads are off. Log in to upload."},
	{site.ErrNotYourAlbum, "That album does not exist or is not yours."},
	{site.ErrTooManyFields, "Too many request fields"},
	{site.ErrFieldTooLong, "Request field too long"},
	{site.ErrMalformedBody, "Malformed request body"},
	{ingest.ErrEmptySource, "Empty upload source."},
	{ingest.ErrBadBase64, "Invalid base64 string."},
	{ingest.ErrDuplicate, "Duplicated upload"},
	{ingest.ErrURLForbidden, "URL uploading is forbidden"},
	{ingest.ErrURLNonPublic, "Unsupported non-public IP address for upload"},
	{ingest.ErrURLSelf, "Unsupported self host URL upload"},
	{ingest.ErrFetchFailed, "Can't get target upload source info"},
	{ingest.ErrNotImage, "Can't get target upload source info"},
	{ingest.ErrInvalidImage, "Invalid image"},
	{ingest.ErrUnsupported, "Unavailable image format"},
	{ingest.ErrBusy, "Server busy, try again"},
}

// webFloodKeys are the flood refusal's words per period.
var webFloodKeys = [...]string{
	ingest.Minute: "Flooding detected. You can only upload {x} images per minute",
	ingest.Hour:   "Flooding detected. You can only upload {x} images per hour",
	ingest.Day:    "Flooding detected. You can only upload {x} images per day",
	ingest.Week:   "Flooding detected. You can only upload {x} images per week",
	ingest.Month:  "Flooding detected. You can only upload {x} images per month",
}

// webRefusal is the upload page's message for a refused upload, in v's
// language; what no room names is an internal error.
func (s *Server) webRefusal(v *visitor, err error) string {
	var (
		big   *ingest.TooBigError
		pix   *ingest.TooManyPixelsError
		sch   *ingest.URLSchemeError
		flood *ingest.FloodError
	)
	switch {
	case errors.As(err, &big):
		return s.t(v, "File too big - max {x}", "x", site.SizeFormatted(big.Limit))
	case errors.As(err, &pix):
		return s.t(v, "Image too large - max {x} megapixels", "x", pix.Limit/1_000_000)
	case errors.As(err, &sch):
		return s.t(v, "Unsupported URL scheme `{x}`", "x", sch.Scheme)
	case errors.As(err, &flood) && int(flood.Period) < len(webFloodKeys):
		return s.t(v, webFloodKeys[flood.Period], "x", flood.Limit)
	case ingest.IsNoSpace(err):
		return s.t(v, "No space left on storage")
	}
	for _, r := range webRefusals {
		if errors.Is(err, r.err) {
			return s.t(v, r.key)
		}
	}
	return s.t(v, "Internal error")
}
