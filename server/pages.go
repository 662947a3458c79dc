package server

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/server/site"
	"picbed/store"
)

// pageData is what every HTML page template receives. Title is final text
// (translated by the handler when it is not user content).
type pageData struct {
	Title   string
	Site    string
	Image   *viewerImage
	Message string
	Status  int
	Error   string // a form's error message, already translated
	Data    any    // the page's own data
	Nav     string // the top bar item to highlight
	Script  string // the page's ES module under ui/static, if any

	V    *visitor
	Conf *site.Settings
	CSRF string
	Lang string

	srv *Server
}

// T translates key into the page's language; args are name, value pairs
// for {name} placeholders.
func (p pageData) T(key string, args ...any) string {
	return p.srv.i18n.translate(p.Lang, key, args...)
}

// Asset returns the cache-forever URL of a file of ui/static.
func (p pageData) Asset(name string) string { return p.srv.assets.url(name) }

// Time renders t as a <time> element; the page script rewrites its text in
// the browser's time zone and language, the server's text is the fallback.
func (p pageData) Time(t time.Time) template.HTML {
	t = t.In(p.srv.site.Location())
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `">` +
		template.HTMLEscapeString(t.Format("2006-01-02 15:04 MST")) + `</time>`)
}

// I18N is the page language's translation table as JSON, for the scripts.
func (p pageData) I18N() string {
	return p.srv.i18n.tableJSON(p.Lang)
}

// viewerImage is an image as the viewer and delete pages show it.
type viewerImage struct {
	Title       string
	Description string
	URL         string // full image
	DisplayURL  string // medium when there is one
	HasMedium   bool   // the browser may pick the full image from srcset on wide screens
	ThumbURL    string
	ViewerURL   string
	Width       int
	Height      int
	MIME        string
	Size        string
	Date        time.Time
	DeleteURL   string
}

// setPageHeaders sets the security headers of HTML pages: no inline script
// or style, images only from this host and the image host, no framing.
func (s *Server) setPageHeaders(w http.ResponseWriter, r *http.Request) {
	imgSrc := "'self' data: blob:"
	if u, err := url.Parse(s.site.ImageBaseURL(r)); err == nil && u.Host != "" {
		imgSrc += " " + u.Scheme + "://" + u.Host
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; img-src "+imgSrc+"; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("X-Frame-Options", "DENY")
}

// render executes a page template into a buffer first, so a template error
// never leaves half a page on the wire.
func (s *Server) render(c echo.Context, status int, name string, data pageData) error {
	var buf bytes.Buffer
	v := visitorOf(c)
	data.srv, data.V, data.Lang = s, v, v.Lang
	data.Conf = s.site.Settings()
	data.Site = data.Conf.SiteName
	data.CSRF = s.csrfToken(v)
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	w := c.Response()
	s.setPageHeaders(w, c.Request())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Cookie, Accept-Language")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// wantsJSON reports whether the request came from a page script, which
// reads errors as JSON rather than as a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || r.Header.Get(csrfHeader) != ""
}

// uiError is the JSON error answer of the scripts' endpoints.
type uiError struct {
	StatusCode int `json:"status_code"`
	Error      struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
	} `json:"error"`
	StatusTxt string `json:"status_txt"`
}

// writeUIError answers a script with the JSON error shape of uiError,
// for a message that is already translated. pageErrorHandler uses it too.
func writeUIError(c echo.Context, status int, msg string) error {
	var e uiError
	e.StatusCode, e.StatusTxt = status, http.StatusText(status)
	e.Error.Message, e.Error.Code = msg, status
	return c.JSON(status, e)
}

// pageErrorHandler renders echo's errors (404, 405, ...) and handler
// errors as a readable page in the visitor's language, or as JSON for
// scripts. Internal errors are logged and shown as a generic message.
func (s *Server) pageErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	msg := "Something went wrong on the server. Try again."
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		if m, ok := he.Message.(string); ok && status < 500 {
			msg = m
		}
		if status == http.StatusNotFound {
			msg = "That page or image does not exist."
		}
		if status == http.StatusMethodNotAllowed {
			msg = "That page does not accept this request."
		}
	} else {
		s.log.Error("page failed", "path", c.Request().URL.Path, "err", err)
	}
	v := visitorOf(c)
	if wantsJSON(c.Request()) {
		writeUIError(c, status, s.t(v, msg))
		return
	}
	if rerr := s.render(c, status, "error.html", pageData{Title: s.t(v, http.StatusText(status)), Message: s.t(v, msg), Status: status}); rerr != nil {
		c.Response().WriteHeader(status)
	}
}

// lookupImage finds the image an URL id segment names. Expired images are
// treated as gone even before the sweeper deletes them.
func (s *Server) lookupImage(idStr string) (store.Image, string, error) {
	id, ok := s.store.DecodeID(idStr)
	if !ok {
		return store.Image{}, "", echo.ErrNotFound
	}
	img, err := s.store.Image(id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Image{}, "", echo.ErrNotFound
	}
	if err != nil {
		return store.Image{}, "", err
	}
	if !img.Expires.IsZero() && !s.now().Before(img.Expires) {
		return store.Image{}, "", echo.ErrNotFound
	}
	return img, s.store.EncodeID(id), nil
}

func (s *Server) viewerData(r *http.Request, img store.Image) *viewerImage {
	u := s.site.Links(r, img)
	v := &viewerImage{
		Title:       img.Title,
		Description: img.Description,
		URL:         u.Full,
		DisplayURL:  u.Full,
		ThumbURL:    u.Thumb,
		ViewerURL:   u.Viewer,
		Width:       img.Width,
		Height:      img.Height,
		MIME:        img.MIME,
		Size:        site.SizeFormatted(img.Size),
		Date:        img.Date.In(s.site.Location()),
	}
	if u.Medium != "" {
		v.DisplayURL, v.HasMedium = u.Medium, true
	}
	return v
}

// deleteTarget checks an /image/ID/delete/TOKEN URL. A wrong token is a
// plain 404, the same as a missing image, so tokens cannot be probed.
func (s *Server) deleteTarget(c echo.Context) (store.Image, error) {
	img, _, err := s.lookupImage(c.Param("id"))
	if err != nil {
		return store.Image{}, err
	}
	if !s.store.CheckDeleteToken(img.ID, c.Param("token")) {
		return store.Image{}, echo.ErrNotFound
	}
	return img, nil
}

// handleDeleteConfirm answers GET of a delete link with a confirmation page
// only: link previews and crawlers fetch URLs, and must not delete images.
func (s *Server) handleDeleteConfirm(c echo.Context) error {
	img, err := s.deleteTarget(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("X-Robots-Tag", "noindex")
	v := s.viewerData(c.Request(), img)
	v.DeleteURL = c.Request().URL.Path
	return s.render(c, http.StatusOK, "delete.html", pageData{Title: s.t(visitorOf(c), "Delete {title}", "title", img.Title), Image: v})
}

// handleDelete deletes the image named by a delete link: the record first,
// then its files.
func (s *Server) handleDelete(c echo.Context) error {
	img, err := s.deleteTarget(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteImage(img.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.forgetImages(img)
	return s.render(c, http.StatusOK, "deleted.html", pageData{Title: s.t(visitorOf(c), "Image deleted"), Message: img.Title})
}

// samePath reports whether r asks for path (which may be percent-encoded,
// as canonical paths with non-ASCII slugs are), whatever escaping the
// client chose.
func samePath(r *http.Request, path string) bool {
	p, err := url.PathUnescape(path)
	return err == nil && r.URL.Path == p
}
