package server

import (
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/server/site"
	"picbed/store"
)

// Who sees an album (and the viewer page of an image in it):
//
//	public    anyone with the link (picbed lists nothing publicly yet)
//	unlisted  anyone with the link; pages carry noindex, the album link is
//	          not shown on the viewer pages of its images
//	password  anyone who unlocked it in this browser (a cookie), else a
//	          password prompt; pages carry noindex
//	private   its owner only; everyone else gets the 404 of an unknown id
//
// The owner and admins always see everything and get the edit tools.
// Image files themselves (/images/...) are not guarded: like Chevereto's,
// their URLs are direct links meant for embedding, so privacy covers the
// pages that name and list them, not bytes whose URL someone already has.

const (
	// albumPageSize is how many thumbnails an album page shows; its embed
	// codes cover the same images, so most albums fit in one page.
	albumPageSize = 60
	// albumCookiePrefix + the album's encoded id names the cookie that
	// remembers an unlocked password album in this browser.
	albumCookiePrefix = "pb_album_"
	// albumCookieTTL is how long an unlocked album stays open in a browser.
	albumCookieTTL = 7 * 24 * time.Hour
)

// access is what a visitor may do with an album.
type access int

const (
	accessNone   access = iota // unknown to them: 404
	accessLocked               // password album not unlocked: the prompt
	accessView                 // may look
	accessManage               // owner or admin: may look, edit and delete
)

// canManage reports whether v may edit and delete what user ownerID owns:
// v is that user, or an admin (admins also manage guest uploads).
func (s *Server) canManage(v *visitor, ownerID uint64) bool {
	return v.LoggedIn && (v.User.Admin || (ownerID != 0 && v.User.ID == ownerID))
}

// albumAccess decides what the visitor of c may do with album a.
func (s *Server) albumAccess(c echo.Context, a store.Album) access {
	if s.canManage(visitorOf(c), a.OwnerID) {
		return accessManage
	}
	switch a.Privacy {
	case store.PrivacyPublic, store.PrivacyUnlisted:
		return accessView
	case store.PrivacyPassword:
		if s.albumUnlocked(c, a) {
			return accessView
		}
		return accessLocked
	}
	return accessNone
}

// albumStamp is the part of an album's state an unlock cookie is bound to:
// its privacy and its current password (store.Album.PasswordStamp), so a
// new password, or leaving and re-entering password privacy, asks every
// browser for the password again, and nothing else does.
func albumStamp(a store.Album) string {
	return a.PasswordStamp + "|" + string(a.Privacy)
}

// albumUnlockToken is the cookie value that opens password album a in the
// browser of v: an HMAC of the album, its current state and the browser's
// guest cookie, so it is useless in another browser and after a change.
func (s *Server) albumUnlockToken(v *visitor, a store.Album) string {
	return hex.EncodeToString(s.mac("album-unlock", strconv.FormatUint(a.ID, 10), albumStamp(a), v.guest))[:40]
}

func albumCookieName(id string) string { return albumCookiePrefix + id }

// albumUnlocked reports whether the browser of c unlocked password album a.
func (s *Server) albumUnlocked(c echo.Context, a store.Album) bool {
	ck, err := c.Request().Cookie(albumCookieName(s.store.EncodeID(a.ID)))
	if err != nil {
		return false
	}
	want := s.albumUnlockToken(visitorOf(c), a)
	return hmac.Equal([]byte(ck.Value), []byte(want))
}

// lookupAlbum finds the album an URL id segment names.
func (s *Server) lookupAlbum(idStr string) (store.Album, string, error) {
	id, ok := s.store.DecodeID(idStr)
	if !ok {
		return store.Album{}, "", echo.ErrNotFound
	}
	a, err := s.store.Album(id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Album{}, "", echo.ErrNotFound
	}
	if err != nil {
		return store.Album{}, "", err
	}
	return a, s.store.EncodeID(id), nil
}

// albumView is an album as the pages show it.
type albumView struct {
	ID          string
	Title       string
	Description string
	Privacy     store.Privacy
	HasPassword bool
	Count       int
	Path        string // canonical path
	URL         string // absolute URL, for sharing
	Cover       *tileView
	Updated     time.Time
}

func (s *Server) albumViewOf(r *http.Request, a store.Album) albumView {
	id := s.store.EncodeID(a.ID)
	av := albumView{
		ID: id, Title: a.Title, Description: a.Description, Privacy: a.Privacy, HasPassword: a.HasPassword,
		Count: a.ImageCount, Path: site.AlbumPath(a.Title, id), Updated: a.Updated,
	}
	av.URL = s.site.SiteURL(r) + av.Path
	return av
}

// withCover adds the thumbnail of the album's newest image.
func (s *Server) withCover(r *http.Request, av *albumView, a store.Album) error {
	if a.CoverID == 0 {
		return nil
	}
	img, err := s.store.Image(a.CoverID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	t := s.tileOf(r, img)
	av.Cover = &t
	return nil
}

// albumPage is the data of album.html.
type albumPage struct {
	Album     albumView
	Manage    bool
	Mine      bool   // the visitor owns it (an admin may manage others')
	Owner     string // the owner's user name
	Images    []tileView
	Older     string // URL of the next page of older images, if any
	Newest    string // URL of the first page when this is a later one
	EmbedJSON string
	Notice    string
}

// albumPasswordPage is the data of album_password.html.
type albumPasswordPage struct {
	ID   string
	Next string
}

// handleAlbum shows /album/SLUG.ID to whoever may see it; a non-canonical
// path redirects (301) like the viewer's, but only after the access check,
// so the redirect never reveals the title of an album one may not see.
func (s *Server) handleAlbum(c echo.Context) error {
	seg := c.Param("slugid")
	a, id, err := s.lookupAlbum(seg[strings.LastIndexByte(seg, '.')+1:])
	if err != nil {
		return err
	}
	r := c.Request()
	acc := s.albumAccess(c, a)
	switch acc {
	case accessNone:
		return echo.ErrNotFound
	case accessLocked:
		return s.renderAlbumPassword(c, http.StatusForbidden, id, r.URL.RequestURI(), "")
	}
	canonical := site.AlbumPath(a.Title, id)
	if !samePath(r, canonical) {
		if r.URL.RawQuery != "" {
			canonical += "?" + r.URL.RawQuery
		}
		return c.Redirect(http.StatusMovedPermanently, canonical)
	}
	before, _ := s.store.DecodeID(c.QueryParam("before"))
	imgs, err := s.store.AlbumImages(a.ID, before, albumPageSize+1)
	if err != nil {
		return err
	}
	v := visitorOf(c)
	p := albumPage{Album: s.albumViewOf(r, a), Manage: acc == accessManage, Mine: v.LoggedIn && v.User.ID == a.OwnerID}
	if len(imgs) > albumPageSize {
		imgs = imgs[:albumPageSize]
		p.Older = canonical + "?before=" + s.store.EncodeID(imgs[len(imgs)-1].ID)
	}
	if before != 0 {
		p.Newest = canonical
	}
	if len(imgs) > 0 {
		t := s.tileOf(r, imgs[0])
		p.Album.Cover = &t
	}
	for _, img := range imgs {
		p.Images = append(p.Images, s.tileOf(r, img))
	}
	p.EmbedJSON = s.embedJSON(r, imgs, func(img store.Image) bool { return p.Manage })
	if owner, err := s.store.User(a.OwnerID); err == nil {
		p.Owner = owner.Name
	}
	if p.Manage && c.QueryParam("done") == "saved" {
		p.Notice = s.t(v, "Album saved.")
	}
	if a.Privacy != store.PrivacyPublic {
		c.Response().Header().Set("X-Robots-Tag", "noindex")
	}
	return s.render(c, http.StatusOK, "album.html", pageData{Title: a.Title, Nav: navIfOwner(v, a.OwnerID, "albums"), Script: "gallery.js", Data: p})
}

// PrivacyLabel names an album privacy in the page's language.
func (p pageData) PrivacyLabel(pr store.Privacy) string {
	switch pr {
	case store.PrivacyPublic:
		return p.T("Public")
	case store.PrivacyUnlisted:
		return p.T("Unlisted")
	case store.PrivacyPassword:
		return p.T("Password protected")
	}
	return p.T("Private")
}

// ImageCount is "n images" in the page's language.
func (p pageData) ImageCount(n int) string {
	if n == 1 {
		return p.T("1 image")
	}
	return p.T("{n} images", "n", n)
}

// navIfOwner highlights item in the top bar when v owns the page's subject.
func navIfOwner(v *visitor, ownerID uint64, item string) string {
	if v.LoggedIn && v.User.ID == ownerID {
		return item
	}
	return ""
}

func (s *Server) renderAlbumPassword(c echo.Context, status int, id, next, msg string) error {
	c.Response().Header().Set("X-Robots-Tag", "noindex")
	return s.render(c, status, "album_password.html", pageData{
		Title: s.t(visitorOf(c), "Password protected album"),
		Error: msg,
		Data:  albumPasswordPage{ID: id, Next: localPath(next)},
	})
}

// albumUnlockKey is the throttling key of album password attempts from ip:
// counted in the login limiter's per-address table under their own key, so
// they neither use up nor share the budget of logins.
func albumUnlockKey(ip string) string { return "album " + site.LimitKey(ip) }

// handleAlbumUnlock checks an album password. Right: a cookie opens the
// album (and the viewer pages of its images) in this browser until the
// album changes. Wrong: the prompt again; failures are counted per address
// like logins, and too many make it wait.
func (s *Server) handleAlbumUnlock(c echo.Context) error {
	a, id, err := s.lookupAlbum(c.Param("id"))
	if err != nil {
		return err
	}
	next := localPath(c.FormValue("next"))
	if next == "/" {
		next = site.AlbumPath(a.Title, id)
	}
	switch s.albumAccess(c, a) {
	case accessNone:
		return echo.ErrNotFound
	case accessView, accessManage:
		return c.Redirect(http.StatusSeeOther, next)
	}
	v := visitorOf(c)
	key, now := albumUnlockKey(c.RealIP()), s.now()
	// Counted per address and per album, like logins per address and per
	// account: many addresses guessing one album's password get no further
	// than one.
	albumKey := "album:" + strconv.FormatUint(a.ID, 10)
	wait, blocked := s.logins.ByIP.Blocked(key, now)
	if !blocked {
		wait, blocked = s.logins.ByName.Blocked(albumKey, now)
	}
	if blocked {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		return s.renderAlbumPassword(c, http.StatusTooManyRequests, id, next,
			s.t(v, "Too many wrong passwords. Try again in {n} minutes.", "n", minutesLeft(wait)))
	}
	if !s.store.CheckAlbumPassword(a.ID, c.FormValue("password")) {
		s.logins.ByIP.Fail(key, now)
		s.logins.ByName.Fail(albumKey, now)
		s.log.Info("album password wrong", "album", a.ID, "ip", c.RealIP())
		return s.renderAlbumPassword(c, http.StatusForbidden, id, next, s.t(v, "Wrong password."))
	}
	s.setCookie(c, albumCookieName(id), s.albumUnlockToken(v, a), albumCookieTTL, true)
	return c.Redirect(http.StatusSeeOther, next)
}

// albumsPage is the data of albums.html.
type albumsPage struct {
	Albums   []albumView
	Form     albumFields
	ImageIDs []string // images the create form adds (after a refused create from My images)
	Notice   string
}

// handleAlbums lists the visitor's albums with the create form.
func (s *Server) handleAlbums(c echo.Context) error {
	v := visitorOf(c)
	notice := ""
	if c.QueryParam("done") == "deleted" {
		notice = s.t(v, "Album deleted.")
	}
	return s.renderAlbums(c, http.StatusOK, albumFields{Privacy: string(store.PrivacyPublic)}, nil, notice, "")
}

func (s *Server) renderAlbums(c echo.Context, status int, f albumFields, ids []string, notice, msg string) error {
	v := visitorOf(c)
	r := c.Request()
	albums, err := s.store.Albums(v.User.ID)
	if err != nil {
		return err
	}
	p := albumsPage{Form: f, ImageIDs: ids, Notice: notice}
	for _, a := range albums {
		av := s.albumViewOf(r, a)
		if err := s.withCover(r, &av, a); err != nil {
			return err
		}
		p.Albums = append(p.Albums, av)
	}
	return s.render(c, status, "albums.html", pageData{Title: s.t(v, "Albums"), Nav: "albums", Script: "gallery.js", Error: msg, Data: p})
}

// albumFields are the inputs of the album endpoints, from a JSON body or a
// url-encoded form: the page scripts send JSON, forms without scripts
// send the same names url-encoded.
type albumFields struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Privacy     string   `json:"privacy"`
	Password    string   `json:"password"`
	ImageIDs    []string `json:"image_ids"`
	AlbumID     string   `json:"album_id"`
	Mode        string   `json:"mode"` // album delete: "keep" or "images"
	HasPassword bool     `json:"-"`    // the edit form may keep the stored password
	back        string   // form only: where to go afterwards
}

// readAlbumFields reads the album fields of c's body. asJSON reports
// whether the answer must be JSON: a JSON body, or a script's request.
func readAlbumFields(c echo.Context) (f albumFields, asJSON bool, err error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			return f, true, echo.NewHTTPError(http.StatusBadRequest, "The request is not valid JSON.")
		}
		return f, true, nil
	}
	form, err := c.FormParams()
	if err != nil {
		return f, wantsJSON(r), echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The form is too large.")
	}
	f = albumFields{
		Title: form.Get("title"), Description: form.Get("description"), Privacy: form.Get("privacy"),
		Password: form.Get("password"), ImageIDs: form["image_ids"], AlbumID: form.Get("album_id"),
		Mode: form.Get("mode"), back: form.Get("back"),
	}
	return f, wantsJSON(r), nil
}

// checkAlbumFields validates the fields of a new or edited album with the
// store's rules, returning a message for the form or "". hasPassword tells
// whether the album already has a password (kept when none is entered).
func (s *Server) checkAlbumFields(v *visitor, f *albumFields, hasPassword bool) string {
	f.Title = strings.TrimSpace(f.Title)
	f.Description = strings.TrimSpace(strings.ReplaceAll(f.Description, "\r\n", "\n"))
	if f.Privacy == "" {
		f.Privacy = string(store.PrivacyPublic)
	}
	switch {
	case f.Title == "":
		return s.t(v, "You must enter the album name.")
	case len(f.Title) > store.MaxAlbumTitleLen:
		return s.t(v, "The album name is too long.")
	case len(f.Description) > store.MaxAlbumDescriptionLen:
		return s.t(v, "The album description is too long.")
	}
	switch store.Privacy(f.Privacy) {
	case store.PrivacyPublic, store.PrivacyUnlisted, store.PrivacyPrivate:
		return ""
	case store.PrivacyPassword:
		if f.Password == "" && hasPassword {
			return ""
		}
		if len(f.Password) < store.MinPasswordLen || len(f.Password) > store.MaxPasswordLen {
			return s.t(v, "The password must be {min} to {max} characters.", "min", store.MinPasswordLen, "max", store.MaxPasswordLen)
		}
		return ""
	}
	return s.t(v, "Choose who can see the album.")
}

// albumStoreError turns the store's refusal of album fields into a message
// (the handler checks first; this catches the rest, such as control
// characters). Other errors are not the visitor's and return "".
func (s *Server) albumStoreError(v *visitor, err error) string {
	if errors.Is(err, store.ErrInvalid) {
		return s.t(v, "The album name or description contains characters that are not allowed.")
	}
	return ""
}

// uiSuccess is the success answer of the album endpoints, in the shape of
// Chevereto's JSON answers.
type uiSuccess struct {
	StatusCode int `json:"status_code"`
	Success    struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
	} `json:"success"`
	Album   *albumRef `json:"album,omitempty"`
	Deleted *int      `json:"deleted,omitempty"`
}

// albumRef names an album in uiSuccess.
type albumRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

func writeUISuccess(c echo.Context, msg string, album *albumRef) error {
	var ok uiSuccess
	ok.StatusCode, ok.Success.Message, ok.Success.Code, ok.Album = http.StatusOK, msg, http.StatusOK, album
	return c.JSON(http.StatusOK, ok)
}

// writeUIDeleted is the success answer of a deletion of n images.
func writeUIDeleted(c echo.Context, msg string, n int) error {
	var ok uiSuccess
	ok.StatusCode, ok.Success.Message, ok.Success.Code, ok.Deleted = http.StatusOK, msg, http.StatusOK, &n
	return c.JSON(http.StatusOK, ok)
}

// decodeImageIDs decodes encoded image ids; one that does not decode is
// the 404 of an unknown id.
func (s *Server) decodeImageIDs(enc []string) ([]uint64, error) {
	if len(enc) == 0 {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Select at least one image.")
	}
	if len(enc) > store.MaxImagesLimit {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Too many images at once.")
	}
	ids := make([]uint64, 0, len(enc))
	for _, e := range enc {
		id, ok := s.store.DecodeID(strings.TrimSpace(e))
		if !ok {
			return nil, echo.ErrNotFound
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// ownImageIDs decodes encoded image ids, each of which must be an image of
// v's; anything else is the 404 of an unknown id, so that nobody learns
// which ids exist. The store checks ownership again in its transaction.
func (s *Server) ownImageIDs(v *visitor, enc []string) ([]uint64, error) {
	ids, err := s.decodeImageIDs(enc)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		img, err := s.store.Image(id)
		if errors.Is(err, store.ErrNotFound) || err == nil && img.OwnerID != v.User.ID {
			return nil, echo.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// handleAlbumCreate makes an album of the visitor's, with the images named
// by image_ids in it (the upload page's "create new album with the
// content"). A script gets the JSON answer, a form goes to the new album. An id
// that is not the visitor's image refuses the whole request, and nothing
// is created.
func (s *Server) handleAlbumCreate(c echo.Context) error {
	v := visitorOf(c)
	f, asJSON, err := readAlbumFields(c)
	if err != nil {
		return err
	}
	fail := func(status int, msg string) error {
		if asJSON {
			return writeUIError(c, status, msg)
		}
		f.Password = ""
		return s.renderAlbums(c, status, f, f.ImageIDs, "", msg)
	}
	if msg := s.checkAlbumFields(v, &f, false); msg != "" {
		return fail(http.StatusBadRequest, msg)
	}
	var ids []uint64
	if len(f.ImageIDs) > 0 {
		if ids, err = s.ownImageIDs(v, f.ImageIDs); err != nil {
			return err
		}
	}
	a, err := s.store.CreateAlbum(v.User.ID, f.Title, f.Description, store.Privacy(f.Privacy), f.Password)
	if err != nil {
		if msg := s.albumStoreError(v, err); msg != "" {
			return fail(http.StatusBadRequest, msg)
		}
		return err
	}
	if len(ids) > 0 {
		if err := s.store.MoveImages(v.User.ID, ids, a.ID); err != nil {
			// An image went away since ownImageIDs: undo the album.
			if _, derr := s.store.DeleteAlbum(a.ID, false); derr != nil {
				s.log.Error("undo album create", "album", a.ID, "err", derr)
			}
			if errors.Is(err, store.ErrNotFound) {
				return echo.ErrNotFound
			}
			return err
		}
	}
	id := s.store.EncodeID(a.ID)
	s.log.Info("album created", "user", v.User.Name, "album", a.ID, "images", len(ids))
	if asJSON {
		return writeUISuccess(c, "Content added to album", &albumRef{ID: id, Title: a.Title, URL: s.site.SiteURL(c.Request()) + site.AlbumPath(a.Title, id)})
	}
	return c.Redirect(http.StatusSeeOther, site.AlbumPath(a.Title, id))
}

// handleAlbumMove puts the visitor's images into one of their albums, or
// out of any album when album_id is empty. Foreign or unknown images or
// albums refuse the whole request (404) and nothing moves.
func (s *Server) handleAlbumMove(c echo.Context) error {
	v := visitorOf(c)
	f, asJSON, err := readAlbumFields(c)
	if err != nil {
		return err
	}
	var a store.Album
	if strings.TrimSpace(f.AlbumID) != "" {
		if a, _, err = s.lookupAlbum(strings.TrimSpace(f.AlbumID)); err != nil {
			return err
		}
		if a.OwnerID != v.User.ID {
			return echo.ErrNotFound
		}
	}
	ids, err := s.ownImageIDs(v, f.ImageIDs)
	if err != nil {
		return err
	}
	if err := s.store.MoveImages(v.User.ID, ids, a.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return echo.ErrNotFound
		}
		return err
	}
	if asJSON {
		if a.ID == 0 {
			return writeUISuccess(c, "Content removed from album", nil)
		}
		id := s.store.EncodeID(a.ID)
		return writeUISuccess(c, "Content added to album", &albumRef{ID: id, Title: a.Title, URL: s.site.SiteURL(c.Request()) + site.AlbumPath(a.Title, id)})
	}
	return c.Redirect(http.StatusSeeOther, withDone(f.back, "/my", "moved", len(ids)))
}

// withDone returns the local path back (or def) with done=what and n=count
// in its query, for the notice of the page the form returns to.
func withDone(back, def, what string, n int) string {
	p := localPath(back)
	if p == "/" {
		p = def
	}
	u, err := url.Parse(p)
	if err != nil {
		u, _ = url.Parse(def)
	}
	q := u.Query()
	q.Set("done", what)
	q.Set("n", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// albumListEntry is one album of GET /albums.json.
type albumListEntry struct {
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Privacy store.Privacy `json:"privacy"`
	Count   int           `json:"count"`
	URL     string        `json:"url"`
}

// handleAlbumsJSON lists the visitor's albums for the pages' album selects.
func (s *Server) handleAlbumsJSON(c echo.Context) error {
	albums, err := s.store.Albums(visitorOf(c).User.ID)
	if err != nil {
		return err
	}
	out := struct {
		Albums []albumListEntry `json:"albums"`
	}{Albums: make([]albumListEntry, 0, len(albums))}
	siteURL := s.site.SiteURL(c.Request())
	for _, a := range albums {
		id := s.store.EncodeID(a.ID)
		out.Albums = append(out.Albums, albumListEntry{ID: id, Title: a.Title, Privacy: a.Privacy, Count: a.ImageCount, URL: siteURL + site.AlbumPath(a.Title, id)})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// managedAlbum is the album of the :id parameter if the visitor may manage
// it; any other album is the 404 of an unknown id.
func (s *Server) managedAlbum(c echo.Context) (store.Album, string, error) {
	a, id, err := s.lookupAlbum(c.Param("id"))
	if err != nil {
		return store.Album{}, "", err
	}
	if !s.canManage(visitorOf(c), a.OwnerID) {
		return store.Album{}, "", echo.ErrNotFound
	}
	return a, id, nil
}

// albumEditPage is the data of album_edit.html.
type albumEditPage struct {
	Album albumView
	Form  albumFields
}

func (s *Server) renderAlbumEdit(c echo.Context, status int, a store.Album, f albumFields, msg string) error {
	v := visitorOf(c)
	f.Password, f.HasPassword = "", a.HasPassword
	return s.render(c, status, "album_edit.html", pageData{
		Title: s.t(v, "Edit album"), Nav: navIfOwner(v, a.OwnerID, "albums"), Script: "gallery.js", Error: msg,
		Data: albumEditPage{Album: s.albumViewOf(c.Request(), a), Form: f},
	})
}

// handleAlbumEditForm shows the edit and delete forms of an album.
func (s *Server) handleAlbumEditForm(c echo.Context) error {
	a, _, err := s.managedAlbum(c)
	if err != nil {
		return err
	}
	return s.renderAlbumEdit(c, http.StatusOK, a, albumFields{Title: a.Title, Description: a.Description, Privacy: string(a.Privacy)}, "")
}

// handleAlbumEdit saves an album's title, description, privacy and
// password. An empty password keeps the current one.
func (s *Server) handleAlbumEdit(c echo.Context) error {
	a, id, err := s.managedAlbum(c)
	if err != nil {
		return err
	}
	v := visitorOf(c)
	f, asJSON, err := readAlbumFields(c)
	if err != nil {
		return err
	}
	fail := func(status int, msg string) error {
		if asJSON {
			return writeUIError(c, status, msg)
		}
		return s.renderAlbumEdit(c, status, a, f, msg)
	}
	if msg := s.checkAlbumFields(v, &f, a.HasPassword); msg != "" {
		return fail(http.StatusBadRequest, msg)
	}
	var pw *string
	if f.Password != "" {
		pw = &f.Password
	}
	a, err = s.store.UpdateAlbum(a.ID, f.Title, f.Description, store.Privacy(f.Privacy), pw)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		if msg := s.albumStoreError(v, err); msg != "" {
			return fail(http.StatusBadRequest, msg)
		}
		return err
	}
	if asJSON {
		return writeUISuccess(c, "Album saved", &albumRef{ID: id, Title: a.Title, URL: s.site.SiteURL(c.Request()) + site.AlbumPath(a.Title, id)})
	}
	return c.Redirect(http.StatusSeeOther, site.AlbumPath(a.Title, id)+"?done=saved")
}

// handleAlbumDelete deletes an album; mode "keep" leaves its images (out
// of any album), mode "images" deletes them too.
func (s *Server) handleAlbumDelete(c echo.Context) error {
	a, _, err := s.managedAlbum(c)
	if err != nil {
		return err
	}
	f, asJSON, err := readAlbumFields(c)
	if err != nil {
		return err
	}
	if f.Mode != "keep" && f.Mode != "images" {
		return echo.NewHTTPError(http.StatusBadRequest, "Choose whether to keep the images or to delete them too.")
	}
	deleted, err := s.store.DeleteAlbum(a.ID, f.Mode == "images")
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	s.forgetImages(deleted...)
	s.log.Info("album deleted", "user", visitorOf(c).User.Name, "album", a.ID, "images_deleted", len(deleted))
	if asJSON {
		return writeUIDeleted(c, "Album deleted", len(deleted))
	}
	return c.Redirect(http.StatusSeeOther, "/albums?done=deleted")
}
