package lsky

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"picbed/store"
)

// maxListedImages bounds the images one list request reads: Lsky pages
// with counts and sorts by size, so a request reads the user's whole image
// index; beyond this many (a few tens of MB of records) it lists the newest
// maxListedImages only.
const maxListedImages = 50_000

// links is Image::links of Lsky 2.1, key for key, plus delete_url (Lsky Pro
// 2.1 has none; it is picbed's delete link). Lsky writes the HTML tag with
// its angle brackets as entities and the rest as is: so does picbed.
func (a *API) links(r *http.Request, img store.Image) object {
	l := a.site.Links(r, img)
	name := img.OriginalFilename
	return object{
		{"url", l.Full},
		{"html", "&lt;img src=\"" + l.Full + "\" alt=\"" + name + "\" title=\"" + name + "\" /&gt;"},
		{"bbcode", "[img]" + l.Full + "[/img]"},
		{"markdown", "![" + name + "](" + l.Full + ")"},
		{"markdown_with_link", "[![" + name + "](" + l.Full + ")](" + l.Full + ")"},
		{"thumbnail_url", l.Thumb},
		{"delete_url", l.Delete},
	}
}

// fileName is Lsky's image "name": the stored file's base name.
func fileName(img store.Image) string { return img.Name + "." + img.Ext }

// uploadData is the data of Lsky's upload answer: ImageController::upload's
// only('key', 'name', 'pathname', 'origin_name', 'size', 'mimetype',
// 'extension', 'md5', 'sha1', 'links'), size the unrounded KB float.
func (a *API) uploadData(r *http.Request, img store.Image) object {
	return object{
		{"key", a.site.Store().EncodeID(img.ID)},
		{"name", fileName(img)},
		{"pathname", img.File(store.Full)},
		{"origin_name", img.OriginalFilename},
		{"size", sizeKB(img.Size)},
		{"mimetype", img.MIME},
		{"extension", img.Ext},
		{"md5", img.MD5},
		{"sha1", img.SHA1},
		{"links", a.links(r, img)},
	}
}

// listItem is one image of Lsky's image list: the visible columns in table
// order (size read back from DECIMAL(8,2)), then human_date and date as the
// controller sets them, then the appended pathname and links.
func (a *API) listItem(r *http.Request, img store.Image) object {
	now, loc := a.site.Now(), a.site.Location()
	return object{
		{"key", a.site.Store().EncodeID(img.ID)},
		{"name", fileName(img)},
		{"origin_name", img.OriginalFilename},
		{"size", storedKB(centiKB(img.Size))},
		{"mimetype", img.MIME},
		{"extension", img.Ext},
		{"md5", img.MD5},
		{"sha1", img.SHA1},
		{"width", img.Width},
		{"height", img.Height},
		{"human_date", humanDate(img.Date, now, loc)},
		{"date", img.Date.In(loc).Format("2006-01-02 15:04:05")},
		{"pathname", img.File(store.Full)},
		{"links", a.links(r, img)},
	}
}

// allImages returns the newest maxListedImages images of owner.
func (a *API) allImages(owner uint64) ([]store.Image, error) {
	var all []store.Image
	before := uint64(0)
	for len(all) < maxListedImages {
		page, err := a.site.Store().Images(owner, before, store.MaxImagesLimit)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < store.MaxImagesLimit {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(all) > maxListedImages {
		all = all[:maxListedImages]
	}
	return all, nil
}

// ownAlbum resolves an album parameter to one of user's albums: Lsky's
// integer id (what the album list shows) or picbed's encoded id (what
// album URLs show). ok is false when v names no album of user's.
func (a *API) ownAlbum(user store.User, v string) (store.Album, bool, error) {
	v = strings.TrimSpace(v)
	if v == "" || user.ID == 0 {
		return store.Album{}, false, nil
	}
	var ids []uint64
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		ids = append(ids, n)
	}
	if id, ok := a.site.Store().DecodeID(v); ok {
		ids = append(ids, id)
	}
	for _, id := range ids {
		al, err := a.site.Store().Album(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Album{}, false, err
		}
		if al.OwnerID == user.ID {
			return al, true, nil
		}
	}
	return store.Album{}, false, nil
}

// HandleImages answers GET /api/v1/images: the token user's images, 40 a
// page, as Image::scopeFilter selects them: album_id (an album of the user's;
// without it, the images in no album, as Lsky lists them), permission
// (public: in a public album; private: the others), keyword (or q; in the
// original file name or the title), order (newest, earliest, utmost,
// least).
func (a *API) HandleImages(c echo.Context) error {
	r := c.Request()
	user := userOf(c)
	q := parseQuery(r.URL.RawQuery)
	imgs, err := a.allImages(user.ID)
	if err != nil {
		return a.serverError(c, err)
	}
	albums, err := a.site.Store().Albums(user.ID)
	if err != nil {
		return a.serverError(c, err)
	}
	public := map[uint64]bool{}
	for _, al := range albums {
		public[al.ID] = al.Privacy == store.PrivacyPublic
	}
	var albumID uint64 // 0: the images in no album
	if v := q.get("album_id"); v != "" {
		al, ok, err := a.ownAlbum(user, v)
		if err != nil {
			return a.serverError(c, err)
		}
		switch {
		case ok:
			albumID = al.ID
		case intval(v) != 0:
			albumID = ^uint64(0) // no album of the user's: nothing
		}
	}
	keyword := strings.ToLower(q.get("keyword"))
	if keyword == "" {
		keyword = strings.ToLower(q.get("q"))
	}
	permission := q.get("permission")
	kept := imgs[:0]
	for _, img := range imgs {
		switch {
		case img.AlbumID != albumID:
		case permission == "public" && !public[img.AlbumID]:
		case permission == "private" && public[img.AlbumID]:
		case keyword != "" && !strings.Contains(strings.ToLower(img.OriginalFilename), keyword) &&
			!strings.Contains(strings.ToLower(img.Title), keyword):
		default:
			kept = append(kept, img)
		}
	}
	sortImages(kept, q.get("order"))
	p := newPaginator(a.site.SiteURL(r)+strings.TrimRight(r.URL.Path, "/"), q, len(kept))
	items := array{}
	for _, img := range slice(p, kept) {
		items = append(items, a.listItem(r, img))
	}
	return success(c, "success", p.object(items))
}

// sortImages orders imgs as Lsky's order parameter says; ties (and
// newest/earliest) go by upload time, then id.
func sortImages(imgs []store.Image, order string) {
	newest := func(x, y store.Image) int {
		if c := y.Date.Compare(x.Date); c != 0 {
			return c
		}
		return cmp.Compare(y.ID, x.ID)
	}
	switch order {
	case "earliest":
		slices.SortStableFunc(imgs, func(x, y store.Image) int { return newest(y, x) })
	case "utmost":
		slices.SortStableFunc(imgs, func(x, y store.Image) int {
			if c := cmp.Compare(y.Size, x.Size); c != 0 {
				return c
			}
			return newest(x, y)
		})
	case "least":
		slices.SortStableFunc(imgs, func(x, y store.Image) int {
			if c := cmp.Compare(x.Size, y.Size); c != 0 {
				return c
			}
			return newest(x, y)
		})
	default:
		slices.SortStableFunc(imgs, newest)
	}
}

// HandleDeleteImage answers DELETE /api/v1/images/{key}: deletes the image
// whose key is given if it is the token user's. As Lsky's
// UserService::deleteImages, the answer is "删除成功" either way: a key
// that names no image of the user's deletes nothing.
func (a *API) HandleDeleteImage(c echo.Context) error {
	user := userOf(c)
	if id, ok := a.site.Store().DecodeID(c.Param("key")); ok {
		img, err := a.site.Store().Image(id)
		switch {
		case err == nil && img.OwnerID == user.ID:
			if _, err := a.site.Store().DeleteImages(user.ID, []uint64{id}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return a.serverError(c, err)
			}
			a.site.Log().Info("image deleted", "image_id", id, "user", user.Name, "via", "lsky")
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return a.serverError(c, err)
		}
	}
	return success(c, "删除成功", nil)
}
