package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"picbed/server/site"
	"picbed/store"
)

const (
	// myPageSize is how many thumbnails one page of My images shows
	// (divisible by 2 to 6, the column counts of the grid).
	myPageSize = 60
	// maxSearchRunes bounds the search text of My images.
	maxSearchRunes = 100
)

// tileView is an image in a thumbnail grid.
type tileView struct {
	ID     string
	Title  string // alt text: the title, else the file name
	Viewer string // viewer path
	Thumb  string
}

func (s *Server) tileOf(r *http.Request, img store.Image) tileView {
	u := s.site.Links(r, img)
	id := s.store.EncodeID(img.ID)
	t := tileView{ID: id, Title: img.Title, Viewer: site.ViewerPath(img.Title, id), Thumb: u.Thumb}
	if img.ThumbSize == 0 {
		t.Thumb = u.Full
	}
	if t.Title == "" {
		t.Title = img.OriginalFilename
	}
	if t.Title == "" {
		t.Title = path.Base(img.File(store.Full))
	}
	return t
}

// myPage is the data of my.html.
type myPage struct {
	Images []tileView
	Albums []albumView // for the "move to album" select
	Form   albumFields // the "new album from the selection" fields
	Query  string
	Total  int
	Older  string
	Newest string
	Back   string // this page, for the forms to return to
	Notice string
}

// handleMy shows the visitor's images, newest first, a page at a time,
// optionally only those whose title or file name contains q.
func (s *Server) handleMy(c echo.Context) error {
	v := visitorOf(c)
	r := c.Request()
	q := strings.TrimSpace(c.QueryParam("q"))
	if utf8.RuneCountInString(q) > maxSearchRunes {
		q = string([]rune(q)[:maxSearchRunes])
	}
	before, _ := s.store.DecodeID(c.QueryParam("before"))
	imgs, err := s.store.SearchImages(v.User.ID, q, before, myPageSize+1)
	if err != nil {
		return err
	}
	p := myPage{Query: q, Back: r.URL.RequestURI(), Form: albumFields{Privacy: string(store.PrivacyPublic)}}
	page := func(before string) string {
		vals := url.Values{}
		if q != "" {
			vals.Set("q", q)
		}
		if before != "" {
			vals.Set("before", before)
		}
		if len(vals) == 0 {
			return "/my"
		}
		return "/my?" + vals.Encode()
	}
	// A search reads a bounded number of records per call (store
	// SearchImages), so a short page of results may still have older
	// matches; a full page always offers the next one.
	if len(imgs) > myPageSize {
		imgs = imgs[:myPageSize]
		p.Older = page(s.store.EncodeID(imgs[len(imgs)-1].ID))
	}
	if before != 0 {
		p.Newest = page("")
	}
	for _, img := range imgs {
		p.Images = append(p.Images, s.tileOf(r, img))
	}
	if p.Total, err = s.store.CountImages(v.User.ID); err != nil {
		return err
	}
	albums, err := s.store.Albums(v.User.ID)
	if err != nil {
		return err
	}
	for _, a := range albums {
		p.Albums = append(p.Albums, s.albumViewOf(r, a))
	}
	n, _ := strconv.Atoi(c.QueryParam("n"))
	switch c.QueryParam("done") {
	case "moved":
		if n == 1 {
			p.Notice = s.t(v, "1 image moved.")
		} else {
			p.Notice = s.t(v, "{n} images moved.", "n", n)
		}
	case "deleted":
		if n == 1 {
			p.Notice = s.t(v, "1 image deleted.")
		} else {
			p.Notice = s.t(v, "{n} images deleted.", "n", n)
		}
	}
	return s.render(c, http.StatusOK, "my.html", pageData{Title: s.t(v, "My images"), Nav: "my", Script: "gallery.js", Data: p})
}

// handleMyDelete deletes several of the visitor's images at once. Any id
// that is not the visitor's image refuses the whole request (404) and
// nothing is deleted.
func (s *Server) handleMyDelete(c echo.Context) error {
	v := visitorOf(c)
	f, asJSON, err := readAlbumFields(c)
	if err != nil {
		return err
	}
	ids, err := s.decodeImageIDs(f.ImageIDs)
	if err != nil {
		return err
	}
	deleted, err := s.store.DeleteImages(v.User.ID, ids)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	s.forgetImages(deleted...)
	s.log.Info("images deleted", "user", v.User.Name, "images", len(deleted))
	if asJSON {
		return writeUIDeleted(c, "Images deleted", len(deleted))
	}
	return c.Redirect(http.StatusSeeOther, withDone(f.back, "/my", "deleted", len(deleted)))
}

// viewerExtra is the viewer page's data beyond the image: what decides
// indexing and the album link for everyone, and the owner's tools.
type viewerExtra struct {
	NoIndex bool
	Album   *albumView // the image's album, when the visitor may know it
	Manage  bool       // owner or admin: the tools below are shown
	ID      string
	Edit    imageText
	Embed   string // embedImage JSON with the delete link
	EXIF    []exifRow
	Notice  string
}

// imageText is the title and description in the edit form.
type imageText struct{ Title, Description string }

// exifRow is one tag of the EXIF panel.
type exifRow struct{ Name, Value string }

// exifRows lists the tags of an image's EXIF JSON (an object of tag name
// to text, see imaging), sorted by name; other value types are shown as
// JSON. Text that is not such an object gives no rows.
func exifRows(raw string) []exifRow {
	if raw == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil
	}
	rows := make([]exifRow, 0, len(m))
	for k, v := range m {
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case nil:
			text = ""
		default:
			b, _ := json.Marshal(v)
			text = string(b)
		}
		rows = append(rows, exifRow{Name: k, Value: text})
	}
	slices.SortFunc(rows, func(a, b exifRow) int { return strings.Compare(a.Name, b.Name) })
	return rows
}

// imageAlbum returns the album of img; the zero Album (ID 0) when it is
// in none, or the album went away meanwhile.
func (s *Server) imageAlbum(img store.Image) (store.Album, error) {
	if img.AlbumID == 0 {
		return store.Album{}, nil
	}
	a, err := s.store.Album(img.AlbumID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Album{}, nil
	}
	return a, err
}

// handleViewer shows /image/SLUG.ID. The id is the last dot-separated part,
// so any slug finds the image; a non-canonical path redirects (301) to the
// canonical one, as Chevereto does for its short URLs. An image in an album
// follows the album's privacy (see ui_albums.go): private → 404 for all but
// the owner and admins, password → the album's password prompt until the
// browser unlocked it. The check comes before the redirect, which would
// reveal the title.
func (s *Server) handleViewer(c echo.Context) error {
	seg := c.Param("slugid")
	idStr := seg[strings.LastIndexByte(seg, '.')+1:]
	img, id, err := s.lookupImage(idStr)
	if err != nil {
		return err
	}
	album, err := s.imageAlbum(img)
	if err != nil {
		return err
	}
	acc := accessView
	if album.ID != 0 {
		acc = s.albumAccess(c, album)
	} else if s.canManage(visitorOf(c), img.OwnerID) {
		acc = accessManage
	}
	switch acc {
	case accessNone:
		return echo.ErrNotFound
	case accessLocked:
		return s.renderAlbumPassword(c, http.StatusForbidden, s.store.EncodeID(album.ID), c.Request().URL.RequestURI(), "")
	}
	canonical := site.ViewerPath(img.Title, id)
	if !samePath(c.Request(), canonical) {
		return c.Redirect(http.StatusMovedPermanently, canonical)
	}
	return s.renderViewer(c, http.StatusOK, img, album, acc, "", nil)
}

// renderViewer renders the viewer page of img; edit, when set, is what the
// edit form shows instead of the stored text (a refused edit).
func (s *Server) renderViewer(c echo.Context, status int, img store.Image, album store.Album, acc access, msg string, edit *imageText) error {
	v := visitorOf(c)
	r := c.Request()
	x := &viewerExtra{Manage: acc == accessManage, ID: s.store.EncodeID(img.ID)}
	if album.ID != 0 {
		x.NoIndex = album.Privacy != store.PrivacyPublic
		// The album link only where the visitor may know the album: an
		// unlisted album's images can be shared one by one.
		if x.Manage || album.Privacy == store.PrivacyPublic || album.Privacy == store.PrivacyPassword {
			av := s.albumViewOf(r, album)
			x.Album = &av
		}
	}
	script := ""
	if x.Manage {
		script = "gallery.js"
		x.Edit = imageText{img.Title, img.Description}
		if edit != nil {
			x.Edit = *edit
		}
		x.Embed = s.embedJSON(r, []store.Image{img}, func(store.Image) bool { return true })
		x.EXIF = exifRows(img.EXIF)
		if c.QueryParam("done") == "saved" {
			x.Notice = s.t(v, "Saved.")
		}
	}
	if x.NoIndex {
		c.Response().Header().Set("X-Robots-Tag", "noindex")
	}
	return s.render(c, status, "viewer.html", pageData{Title: img.Title, Image: s.viewerData(r, img), Script: script, Error: msg, Data: x})
}

// managedImage is the image of the :id parameter if the visitor may manage
// it; any other image is the 404 of an unknown id.
func (s *Server) managedImage(c echo.Context) (store.Image, error) {
	img, _, err := s.lookupImage(c.Param("id"))
	if err != nil {
		return store.Image{}, err
	}
	if !s.canManage(visitorOf(c), img.OwnerID) {
		return store.Image{}, echo.ErrNotFound
	}
	return img, nil
}

// handleImageEdit saves an image's title and description from the
// viewer's owner tools and returns to its (possibly new) canonical path.
func (s *Server) handleImageEdit(c echo.Context) error {
	img, err := s.managedImage(c)
	if err != nil {
		return err
	}
	v := visitorOf(c)
	title := strings.TrimSpace(c.FormValue("title"))
	desc := strings.TrimSpace(strings.ReplaceAll(c.FormValue("description"), "\r\n", "\n"))
	var msg string
	switch {
	case utf8.RuneCountInString(title) > store.MaxTitleLen:
		msg = s.t(v, "The title can have at most {n} characters.", "n", store.MaxTitleLen)
	case utf8.RuneCountInString(desc) > store.MaxDescriptionLen:
		msg = s.t(v, "The description can have at most {n} characters.", "n", store.MaxDescriptionLen)
	}
	if msg == "" {
		updated, err := s.store.SetImageText(img.ID, title, desc)
		switch {
		case err == nil:
			id := s.store.EncodeID(img.ID)
			return c.Redirect(http.StatusSeeOther, site.ViewerPath(updated.Title, id)+"?done=saved")
		case errors.Is(err, store.ErrNotFound):
			return echo.ErrNotFound
		case errors.Is(err, store.ErrInvalid):
			msg = s.t(v, "The title or description contains characters that are not allowed.")
		default:
			return err
		}
	}
	if wantsJSON(c.Request()) {
		return writeUIError(c, http.StatusBadRequest, msg)
	}
	album, err := s.imageAlbum(img)
	if err != nil {
		return err
	}
	return s.renderViewer(c, http.StatusBadRequest, img, album, accessManage, msg, &imageText{title, desc})
}

// handleImageDelete deletes an image from its viewer page's owner tools
// and goes to My images.
func (s *Server) handleImageDelete(c echo.Context) error {
	img, err := s.managedImage(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteImage(img.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return echo.ErrNotFound
		}
		return fmt.Errorf("delete image %d: %w", img.ID, err)
	}
	s.forgetImages(img)
	v := visitorOf(c)
	s.log.Info("image deleted", "user", v.User.Name, "image", img.ID)
	if wantsJSON(c.Request()) {
		return writeUIDeleted(c, "Images deleted", 1)
	}
	return c.Redirect(http.StatusSeeOther, withDone("", "/my", "deleted", 1))
}
