package lsky

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"picbed/ingest"
	"picbed/server/api/phpjson"
	"picbed/server/site"
	"picbed/store"
)

// version is which Lsky API an upload came in by.
type version int

const (
	v1 version = 1 // POST /api/upload: header or field "token", file "image"
	v2 version = 2 // POST /api/v1/upload: Authorization, file "file"
)

// HandleUpload answers POST /api/v1/upload (Lsky 2.x): the file in "file",
// optional strategy_id (1, the only one), album_id (an album of the token
// user's; any other is ignored, as Lsky ignores the field) and permission
// (accepted; picbed images are reachable by their URL either way). Without
// an Authorization header it is a guest upload. Answered with Lsky's image
// data and "上传成功", or a refusal (HTTP 200, status false, as Lsky's
// controller answers one; 401 for a wrong token, 429 for a throttled
// address).
func (a *API) HandleUpload(c echo.Context) error {
	img, user, err := a.upload(c, v2)
	if err != nil {
		return a.failErr(c, err)
	}
	a.logUpload(c, img, user)
	return success(c, "上传成功", a.uploadData(c.Request(), img))
}

// HandleV1Upload answers POST /api/upload (Lsky 1.x): the file in "image",
// the token in header "token" (or a "token" field before the file; none is a
// guest upload), answered {"code":200,"msg":"success","data":{...},
// "time":...} as picgo-plugin-lankong's V1 mode reads it (code 200,
// data.url), refusals in the same shape with Lsky 1.x's codes, always HTTP
// 200.
func (a *API) HandleV1Upload(c echo.Context) error {
	img, user, err := a.upload(c, v1)
	if err != nil {
		retryAfter(c, err)
		return a.writeV1Error(c, Describe(err, a.site.Log()))
	}
	a.logUpload(c, img, user)
	data := object{
		{"id", img.ID},
		{"name", img.OriginalFilename},
		{"url", a.site.Links(c.Request(), img).Full},
		{"size", img.Size},
		{"mime", img.MIME},
		{"sha1", img.SHA1},
		{"md5", img.MD5},
	}
	if user.ID != 0 {
		// Lsky 1.x's quota and use in bytes, "%.2f"; picbed has no quota.
		_, _, used, err := a.usedCentiKB(user.ID)
		if err != nil {
			return a.writeV1Error(c, Describe(err, a.site.Log()))
		}
		data = append(data, member{"quota", "0.00"}, member{"use_quota", fmt.Sprintf("%.2f", float64(used))})
	}
	return a.writeV1(c, 200, "success", data)
}

func (a *API) logUpload(c echo.Context, img store.Image, user store.User) {
	a.site.Log().Info("image uploaded", slog.Uint64("image_id", img.ID), slog.String("file", img.File(store.Full)),
		slog.Int64("bytes", img.Size), slog.String("user", user.Name), slog.String("ip", c.RealIP()), slog.String("via", "lsky"))
}

// writeV1 writes Lsky 1.x's envelope as ThinkPHP's Json response does:
// JSON_UNESCAPED_UNICODE, HTTP 200 whatever the code.
func (a *API) writeV1(c echo.Context, code int, msg string, data any) error {
	if data == nil {
		data = object{}
	}
	doc := object{{"code", code}, {"msg", msg}, {"data", data}, {"time", a.site.Now().Unix()}}
	setHeaders(c.Response(), "application/json; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(phpjson.AppendFlags(nil, doc, phpjson.UnescapedUnicode))
	return err
}

func (a *API) writeV1Error(c echo.Context, e *Error) error {
	return a.writeV1(c, e.V1Code, e.V1Message, nil)
}

// guestID gives each guest upload an id of its own, so that one API guest's
// image is never another's duplicate (a reused image would hand out its
// delete link).
func guestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "lsky:" + hex.EncodeToString(b)
}

// upload reads and stores an upload of either version. A token named in
// the headers is checked before the body is read, so a wrong one never
// costs a staging file; so are guest uploads while they are off.
func (a *API) upload(c echo.Context, ver version) (store.Image, store.User, error) {
	r := c.Request()
	ip := c.RealIP()
	bodyRead := a.site.GuardSlowBody(c.Response(), r)
	body := r.Body // before ReadForm's limit wraps it: drained on refusal
	img, user, err := a.receive(c, ver, ip, bodyRead)
	if err != nil {
		var blocked *site.KeyFailuresError
		if !errors.As(err, &blocked) {
			io.CopyN(io.Discard, body, maxDrainBytes)
		}
	}
	return img, user, err
}

func (a *API) receive(c echo.Context, ver version, ip string, bodyRead func()) (store.Image, store.User, error) {
	r := c.Request()
	var (
		user   store.User
		authed bool
	)
	auth := func(tok string) error {
		u, err := a.site.AuthKey(r.Context(), ip, tok)
		if err != nil {
			return err
		}
		user, authed = u, true
		return nil
	}
	tok, named := "", false
	switch ver {
	case v1:
		tok = r.Header.Get("token")
		if tok == "" {
			tok = r.URL.Query().Get("token")
		}
		named = tok != ""
	case v2:
		// ImageController::upload: an Authorization header must
		// authenticate; without one the upload is a guest's.
		_, named = r.Header["Authorization"]
		tok = bearerToken(r)
	}
	if named {
		if err := auth(tok); err != nil {
			return store.Image{}, user, err
		}
	}
	guestsOff := !a.site.Settings().GuestUploads
	if !named && guestsOff && ver == v2 {
		return store.Image{}, user, site.ErrGuestUploadsOff
	}
	up, err := a.site.Store().NewUpload()
	if err != nil {
		return store.Image{}, user, err
	}
	defer up.Discard()
	field := "file"
	if ver == v1 {
		field = "image"
	}
	form := &site.Form{Fields: map[string]string{}}
	err = site.ReadForm(r, up, form, site.FormRules{
		FileFields: []string{field},
		MaxUpload:  a.site.Settings().MaxUpload,
		BeforeFile: func(f *site.Form) error {
			// Lsky 1.x also reads the token from the body; it is checked
			// before the file is staged, and so is a guest upload.
			if ver == v1 && !authed {
				if t := f.Get("token"); t != "" {
					return auth(t)
				}
				if guestsOff {
					return site.ErrGuestUploadsOff
				}
			}
			return nil
		},
	})
	if err != nil {
		return store.Image{}, user, err
	}
	bodyRead()
	if ver == v1 && !authed {
		if t := form.Get("token"); t != "" {
			if err := auth(t); err != nil {
				return store.Image{}, user, err
			}
		} else if guestsOff {
			return store.Image{}, user, site.ErrGuestUploadsOff
		}
	}
	if ver == v2 {
		if s := strings.TrimSpace(form.Get("strategy_id")); s != "" && s != strconv.Itoa(strategyID) {
			return store.Image{}, user, errNoStrategy
		}
	}
	if form.File == nil {
		return store.Image{}, user, ingest.ErrEmptySource
	}
	in := ingest.Request{Owner: user, IP: ip, Source: form.File, Policies: a.site.Policies()}
	if user.ID == 0 {
		in.GuestID = guestID()
	}
	if ver == v2 {
		al, ok, err := a.ownAlbum(user, form.Get("album_id"))
		if err != nil {
			return store.Image{}, user, err
		}
		if ok {
			in.AlbumID = al.ID
		}
	}
	img, err := a.site.Upload(r.Context(), up, in)
	return img, user, err
}
