package chevereto

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/ingest"
	"picbed/server/fetch"
	"picbed/server/site"
	"picbed/store"
)

// MaxDrainBytes is how much of an unread request body is read and dropped
// before an API error is answered. Most HTTP libraries (Go's, axios) send
// the whole body before they read the answer; draining lets them see the
// JSON refusal of, say, a 16 MB upload over a 10 MB limit instead of a
// connection reset. Nothing drained is kept. Beyond this the connection is
// closed.
const MaxDrainBytes = 64 << 20

// maxBlockedScanBytes is how much of the body of an address blocked for
// wrong keys is read to find its "format" field: the fields clients send
// before the file, not the file.
const maxBlockedScanBytes = 64 << 10

// API is the Chevereto API v1 door of a site.
type API struct {
	site *site.Site
}

// New returns the Chevereto API of s.
func New(s *site.Site) *API { return &API{site: s} }

// Request is a read API request: its fields (form fields over query
// parameters, as PHP's $_REQUEST) and its file part.
type Request struct {
	Method string
	Form   *site.Form
}

// format is the requested output format; anything unknown is json.
func (r *Request) format() string {
	switch f := r.Form.Get("format"); f {
	case "txt", "redirect":
		return f
	}
	return "json"
}

// imgbb reports an upload in ImgBB's field "image" (a file part, or text
// when "source" is empty), answered in ImgBB's envelope.
func (r *Request) imgbb() bool {
	if r.Form.File != nil {
		return r.Form.FileField == "image"
	}
	return r.Form.Get("source") == "" && r.Form.Get("image") != ""
}

// HandleUpload answers POST|GET /api/1/upload[/], and any other
// /api/VERSION/ACTION with Chevereto's refusal.
func (a *API) HandleUpload(c echo.Context) error {
	r := c.Request()
	req := &Request{Method: r.Method, Form: &site.Form{Fields: map[string]string{}}}
	bodyRead := func() {}
	if r.Method == http.MethodPost {
		bodyRead = a.site.GuardSlowBody(c.Response(), r)
	}
	body := r.Body // before any size limit wraps it; drained through the guard
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			req.Form.Fields[k] = v[0]
		}
	}
	img, user, err := a.upload(c, req, bodyRead)
	if err != nil {
		// The answer's format does not depend on where the client put
		// "format": when the refusal came before it, read on for it.
		// An address blocked for guessing keys gets no drain: its refusal
		// is the one answer it should not be spent bandwidth on.
		var blocked *site.KeyFailuresError
		if errors.As(err, &blocked) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(blocked.Wait/time.Second)+1))
			req.Form.Fields["format"] = req.Form.Find(r, "format", maxBlockedScanBytes)
		} else {
			req.Form.Fields["format"] = req.Form.Find(r, "format", MaxDrainBytes)
			io.CopyN(io.Discard, body, MaxDrainBytes)
		}
		a.writeError(c.Response(), req.format(), Describe(err, a.site.Log()))
		return nil
	}
	a.site.Log().Info("image uploaded", slog.Uint64("image_id", img.ID), slog.String("file", img.File(store.Full)),
		slog.Int64("bytes", img.Size), slog.String("user", user.Name), slog.String("ip", c.RealIP()))
	a.WriteSuccess(c.Response(), r, req, img)
	return nil
}

// upload runs an API upload request in Chevereto V3's order of checks:
// key, version, action, then the flood limits, the source and ingest. A
// valid key passes even from an address blocked for wrong keys; wrong
// ones from there are refused and slowed down (site.AuthKey). The
// key's user owns the image; album_id puts it in one of that user's
// albums, and is ignored (as Chevereto V4 does) when it names no album of
// theirs. Without an expiration the admin's default auto-delete applies
// (none unless set on the settings page).
func (a *API) upload(c echo.Context, req *Request, bodyRead func()) (store.Image, store.User, error) {
	r := c.Request()
	ip := c.RealIP()
	up, err := a.site.Store().NewUpload()
	if err != nil {
		return store.Image{}, store.User{}, err
	}
	defer up.Discard()

	// A key named before the body (header or query) is checked before the
	// body is read, so a wrong key never costs a 25 MB staging file.
	var user store.User
	authed := false
	auth := func(key string) error {
		if authed {
			return nil
		}
		u, err := a.site.AuthKey(r.Context(), ip, key)
		if err != nil {
			return err
		}
		user, authed = u, true
		return nil
	}
	if k := r.Header.Get("X-API-Key"); k != "" {
		if err := auth(k); err != nil {
			return store.Image{}, user, err
		}
	} else if k := req.Form.Get("key"); k != "" && r.Method == http.MethodGet {
		if err := auth(k); err != nil {
			return store.Image{}, user, err
		}
	}
	if r.Method == http.MethodPost {
		// The key, when it came first, is checked before the file is
		// stored. Clients that send it later are checked afterwards,
		// unless their address is blocked for wrong keys: that one stages
		// no file before its key passed.
		blocked := !authed && a.site.KeyBlocked(ip)
		err := a.ReadForm(r, up, req.Form, func(f *site.Form) error {
			if k := f.Get("key"); k != "" || blocked {
				return auth(k)
			}
			return nil
		})
		if err != nil {
			return store.Image{}, user, err
		}
	}
	bodyRead()
	if err := auth(req.Form.Get("key")); err != nil {
		return store.Image{}, user, err
	}
	if c.Param("version") != "1" {
		return store.Image{}, user, errInvalidVersion
	}
	if c.Param("action") != "upload" {
		return store.Image{}, user, errInvalidAction
	}
	in := a.Ingest(c, req)
	in.Owner = user
	switch id, err := a.site.OwnAlbum(user, req.Form.Get("album_id")); {
	case err == nil:
		in.AlbumID = id
	case !errors.Is(err, site.ErrNotYourAlbum):
		return store.Image{}, user, err
	}
	img, err := a.site.Upload(r.Context(), up, in)
	return img, user, err
}

// ReadForm reads the API's upload form from a POST body into f: the file
// in "source" (or ImgBB's "image") streams into up; beforeFile runs with
// the fields before it.
func (a *API) ReadForm(r *http.Request, up *store.Upload, f *site.Form, beforeFile func(*site.Form) error) error {
	return site.ReadForm(r, up, f, site.FormRules{
		FileFields:       []string{"source", "image"},
		TextSourceFields: []string{"source", "image"},
		MaxUpload:        a.site.Settings().MaxUpload,
		BeforeFile:       beforeFile,
	})
}

// Ingest turns the request's fields into an ingest.Request, with the
// site's current policies and the client's address; the caller sets who
// uploads and the album. Chevereto V4's parameters: title (or ImgBB's
// name), description, tags (comma-separated), nsfw ("1"), width (resize),
// expiration (ISO-8601 duration or seconds).
func (a *API) Ingest(c echo.Context, req *Request) ingest.Request {
	r, f := c.Request(), req.Form
	title := f.Get("title")
	if title == "" {
		title = f.Get("name")
	}
	in := ingest.Request{
		IP:          c.RealIP(),
		Source:      a.source(r, req),
		Title:       title,
		Description: f.Get("description"),
		Tags:        strings.Split(f.Get("tags"), ","),
		NSFW:        f.Get("nsfw") == "1",
		Policies:    a.site.Policies(),
	}
	// A width out of range is ignored by ingest, like Chevereto V4 drops
	// what it cannot use.
	if w, err := strconv.Atoi(f.Get("width")); err == nil {
		in.Width = w
	}
	if d, ok := ingest.ParseExpiration(f.Get("expiration")); ok {
		in.Expiry = d
	}
	return in
}

// source is the request's source: the file part, else the "source" (or
// "image") field as a URL or base64 text.
func (a *API) source(r *http.Request, req *Request) ingest.Source {
	if req.Form.File != nil {
		return req.Form.File
	}
	v := req.Form.Get("source")
	if v == "" {
		v = req.Form.Get("image")
	}
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return ingest.Refuse(ingest.ErrEmptySource)
	case fetch.LooksLikeURL(v):
		return fetch.Source{URL: v, SiteHost: r.Host, Fetcher: a.site.Fetcher()}
	case req.Method != http.MethodPost:
		return ingest.Refuse(errBase64GET)
	}
	return ingest.Base64(v)
}
