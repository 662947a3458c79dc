package lsky

import (
	"cmp"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"picbed/store"
)

// HandleAlbums answers GET /api/v1/albums: the token user's albums, 40 a
// page, each {id, name, intro, image_num} as AlbumController::index shows
// them; order newest, earliest, most, least (images), keyword in the name
// or the description.
func (a *API) HandleAlbums(c echo.Context) error {
	r := c.Request()
	user := userOf(c)
	q := parseQuery(r.URL.RawQuery)
	albums, err := a.site.Store().Albums(user.ID)
	if err != nil {
		return a.serverError(c, err)
	}
	keyword := strings.ToLower(q.get("keyword"))
	if keyword == "" {
		keyword = strings.ToLower(q.get("q"))
	}
	kept := albums[:0]
	for _, al := range albums {
		if keyword == "" || strings.Contains(strings.ToLower(al.Title), keyword) || strings.Contains(strings.ToLower(al.Description), keyword) {
			kept = append(kept, al)
		}
	}
	newest := func(x, y store.Album) int {
		if c := y.Created.Compare(x.Created); c != 0 {
			return c
		}
		return cmp.Compare(y.ID, x.ID)
	}
	switch q.get("order") {
	case "earliest":
		slices.SortStableFunc(kept, func(x, y store.Album) int { return newest(y, x) })
	case "most":
		slices.SortStableFunc(kept, func(x, y store.Album) int {
			if c := cmp.Compare(y.ImageCount, x.ImageCount); c != 0 {
				return c
			}
			return newest(x, y)
		})
	case "least":
		slices.SortStableFunc(kept, func(x, y store.Album) int {
			if c := cmp.Compare(x.ImageCount, y.ImageCount); c != 0 {
				return c
			}
			return newest(x, y)
		})
	default:
		slices.SortStableFunc(kept, newest)
	}
	p := newPaginator(a.site.SiteURL(r)+strings.TrimRight(r.URL.Path, "/"), q, len(kept))
	items := array{}
	for _, al := range slice(p, kept) {
		items = append(items, object{
			{"id", al.ID},
			{"name", al.Title},
			{"intro", al.Description},
			{"image_num", al.ImageCount},
		})
	}
	return success(c, "success", p.object(items))
}

// HandleDeleteAlbum answers DELETE /api/v1/albums/{id}: deletes the token
// user's album (its images stay, out of any album, as Lsky's foreign key
// leaves them). As AlbumController::destroy, the answer is "删除成功" also
// when the id names no album of the user's, which deletes nothing.
func (a *API) HandleDeleteAlbum(c echo.Context) error {
	user := userOf(c)
	al, ok, err := a.ownAlbum(user, c.Param("id"))
	if err != nil {
		return a.serverError(c, err)
	}
	if ok {
		if _, err := a.site.Store().DeleteAlbum(al.ID, false); err != nil {
			return a.serverError(c, err)
		}
		a.site.Log().Info("album deleted", "album_id", al.ID, "user", user.Name, "via", "lsky")
	}
	return success(c, "删除成功", nil)
}
