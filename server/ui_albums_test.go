package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// galleryHost is a test host with an admin and two users, alice and bob,
// who upload through the API with their own keys.
type galleryHost struct {
	*testHost
	t              *testing.T
	alice, bob     store.User
	aliceKey, bobK string
}

const galleryPassword = "password1"

func newGalleryHost(t *testing.T, cfg Config) *galleryHost {
	t.Helper()
	cfg.Settings.Duplicates = ingest.DuplicatesAllow
	cfg.Site.FloodLimits = &site.FloodLimits{} // the paging tests upload more than 50 a minute
	g := &galleryHost{testHost: newTestHost(t, cfg), t: t}
	mustAdmin(t, g.testHost)
	var err error
	for _, u := range []struct {
		user *store.User
		key  *string
		name string
	}{{&g.alice, &g.aliceKey, "alice"}, {&g.bob, &g.bobK, "bob"}} {
		if *u.user, err = g.store.CreateUser(u.name, galleryPassword, false); err != nil {
			t.Fatal(err)
		}
		if *u.key, _, err = g.store.CreateAPIKey(u.user.ID); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// upload stores small.png (or file) as the key's user with title and
// returns the stored image.
func (g *galleryHost) upload(key, title string, file ...string) store.Image {
	g.t.Helper()
	name := "small.png"
	if len(file) > 0 {
		name = file[0]
	}
	status, doc, raw := g.post(g.t, map[string]string{"key": key, "title": title}, name, readTestdata(g.t, name), nil)
	if status != 200 {
		g.t.Fatalf("upload %q: %d %s", title, status, raw)
	}
	id, ok := g.store.DecodeID(imageOf(g.t, doc, raw)["id_encoded"].(string))
	if !ok {
		g.t.Fatalf("upload %q: bad id_encoded in %s", title, raw)
	}
	img, err := g.store.Image(id)
	if err != nil {
		g.t.Fatal(err)
	}
	return img
}

// client returns a browser stand-in logged in as name ("" = a guest).
func (g *galleryHost) client(name string) *webClient {
	g.t.Helper()
	w := newWebClient(g.t, g.testHost)
	switch name {
	case "":
		w.get("/login") // a page, for the guest's CSRF token
	case "admin":
		w.login("admin", "adminpass1", false)
	default:
		w.login(name, galleryPassword, false)
	}
	return w
}

func (g *galleryHost) enc(id uint64) string { return g.store.EncodeID(id) }

func (g *galleryHost) mustAlbum(id uint64) store.Album {
	g.t.Helper()
	a, err := g.store.Album(id)
	if err != nil {
		g.t.Fatalf("album %d: %v", id, err)
	}
	return a
}

func (g *galleryHost) mustImage(id uint64) store.Image {
	g.t.Helper()
	img, err := g.store.Image(id)
	if err != nil {
		g.t.Fatalf("image %d: %v", id, err)
	}
	return img
}

// postJSON sends body as JSON with the CSRF header, as lib.js send() does,
// and decodes the answer.
func (w *webClient) postJSON(path string, body any) (*http.Response, map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", w.h.http.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(csrfHeader, w.csrf)
	resp, raw := w.do(req)
	var doc map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		w.t.Fatalf("POST %s: answer is not JSON: %d %s", path, resp.StatusCode, raw)
	}
	return resp, doc
}

// jsonError returns the message of a uiError answer.
func jsonError(t *testing.T, doc map[string]any) string {
	t.Helper()
	e, ok := doc["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error in %v", doc)
	}
	return e["message"].(string)
}

// createAlbum makes an album through the JSON endpoint as w and returns it.
func (g *galleryHost) createAlbum(w *webClient, title string, privacy store.Privacy, password string, imgs ...store.Image) store.Album {
	g.t.Helper()
	w.get("/albums")
	ids := []string{}
	for _, img := range imgs {
		ids = append(ids, g.enc(img.ID))
	}
	resp, doc := w.postJSON("/albums", map[string]any{"title": title, "privacy": privacy, "password": password, "image_ids": ids})
	if resp.StatusCode != 200 {
		g.t.Fatalf("create album %q: %d %v", title, resp.StatusCode, doc)
	}
	id, ok := g.store.DecodeID(doc["album"].(map[string]any)["id"].(string))
	if !ok {
		g.t.Fatalf("create album: bad id in %v", doc)
	}
	return g.mustAlbum(id)
}

func TestAlbumCreate(t *testing.T) {
	g := newGalleryHost(t, Config{})
	a1, a2 := g.upload(g.aliceKey, "one"), g.upload(g.aliceKey, "two")
	alice := g.client("alice")
	alice.get("/albums")

	t.Run("JSON with images answers the spec's shape", func(t *testing.T) {
		resp, doc := alice.postJSON("/albums", map[string]any{
			"title": "Holiday 2026", "description": "sea", "privacy": "unlisted",
			"image_ids": []string{g.enc(a1.ID), g.enc(a2.ID)},
		})
		if resp.StatusCode != 200 || doc["status_code"] != 200.0 {
			t.Fatalf("%d %v", resp.StatusCode, doc)
		}
		succ := doc["success"].(map[string]any)
		if succ["message"] != "Content added to album" || succ["code"] != 200.0 {
			t.Errorf("success = %v", succ)
		}
		album := doc["album"].(map[string]any)
		id, _ := g.store.DecodeID(album["id"].(string))
		want := g.http.URL + "/album/holiday-2026." + album["id"].(string)
		if album["title"] != "Holiday 2026" || album["url"] != want {
			t.Errorf("album = %v, want url %s", album, want)
		}
		a := g.mustAlbum(id)
		if a.OwnerID != g.alice.ID || a.Privacy != store.PrivacyUnlisted || a.ImageCount != 2 || a.Description != "sea" {
			t.Errorf("stored album %+v", a)
		}
		if g.mustImage(a1.ID).AlbumID != id || g.mustImage(a2.ID).AlbumID != id {
			t.Error("images not in the album")
		}
	})

	t.Run("form goes to the new album", func(t *testing.T) {
		alice.get("/albums")
		resp, _ := alice.post("/albums", url.Values{"title": {"  猫咪  "}, "privacy": {"private"}})
		loc := location(resp)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/album/") {
			t.Fatalf("%d to %q", resp.StatusCode, loc)
		}
		a := g.mustAlbum(mustDecode(t, g, loc[len("/album/"):]))
		if a.Title != "猫咪" || a.Privacy != store.PrivacyPrivate {
			t.Errorf("stored album %+v", a)
		}
		if resp, body := alice.get(loc); resp.StatusCode != 200 || !strings.Contains(body, "猫咪") {
			t.Errorf("GET %s: %d", loc, resp.StatusCode)
		}
	})

	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"no name", map[string]any{"title": "  ", "privacy": "public"}, "You must enter the album name."},
		{"password album without password", map[string]any{"title": "x", "privacy": "password"}, "The password must be 6 to 128 characters."},
		{"short password", map[string]any{"title": "x", "privacy": "password", "password": "12345"}, "The password must be 6 to 128 characters."},
		{"unknown privacy", map[string]any{"title": "x", "privacy": "friends"}, "Choose who can see the album."},
		{"name too long", map[string]any{"title": strings.Repeat("长", 40), "privacy": "public"}, "The album name is too long."},
		{"control characters", map[string]any{"title": "a\x07b", "privacy": "public"}, "The album name or description contains characters that are not allowed."},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			before, _ := g.store.Albums(g.alice.ID)
			resp, doc := alice.postJSON("/albums", tc.body)
			if resp.StatusCode != 400 || jsonError(t, doc) != tc.want {
				t.Errorf("%d %v, want 400 %q", resp.StatusCode, doc, tc.want)
			}
			if after, _ := g.store.Albums(g.alice.ID); len(after) != len(before) {
				t.Errorf("an album was created: %d -> %d", len(before), len(after))
			}
		})
	}

	t.Run("refused form keeps the fields", func(t *testing.T) {
		alice.get("/albums")
		resp, body := alice.post("/albums", url.Values{"title": {""}, "description": {"kept text"}, "privacy": {"unlisted"}})
		if resp.StatusCode != 400 || !strings.Contains(body, "You must enter the album name.") || !strings.Contains(body, "kept text") {
			t.Errorf("%d", resp.StatusCode)
		}
	})

	t.Run("guests are sent to log in", func(t *testing.T) {
		guest := g.client("")
		resp, _ := guest.postJSON("/albums", map[string]any{"title": "x"})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("guest create: %d, want 401", resp.StatusCode)
		}
		if resp, _ := guest.get("/albums"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("guest GET /albums: %d, want 303 to login", resp.StatusCode)
		}
	})
}

func mustDecode(t *testing.T, g *galleryHost, seg string) uint64 {
	t.Helper()
	seg = strings.SplitN(seg, "?", 2)[0]
	id, ok := g.store.DecodeID(seg[strings.LastIndexByte(seg, '.')+1:])
	if !ok {
		t.Fatalf("cannot decode id of %q", seg)
	}
	return id
}

func TestAlbumsJSONAndMove(t *testing.T) {
	g := newGalleryHost(t, Config{})
	a1, a2 := g.upload(g.aliceKey, "one"), g.upload(g.aliceKey, "two")
	alice := g.client("alice")
	first := g.createAlbum(alice, "First", store.PrivacyPublic, "")
	second := g.createAlbum(alice, "Second", store.PrivacyPassword, "secret-pw", a1)
	g.createAlbum(g.client("bob"), "Bob's", store.PrivacyPublic, "")

	resp, body := alice.get("/albums.json")
	var list struct {
		Albums []struct {
			ID, Title, Privacy, URL string
			Count                   int
		}
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if len(list.Albums) != 2 || list.Albums[0].Title != "Second" || list.Albums[0].Privacy != "password" || list.Albums[0].Count != 1 ||
		list.Albums[1].URL != g.http.URL+"/album/first."+g.enc(first.ID) {
		t.Errorf("albums.json = %+v", list.Albums)
	}

	alice.get("/my")
	resp, doc := alice.postJSON("/albums/move", map[string]any{"album_id": g.enc(first.ID), "image_ids": []string{g.enc(a1.ID), g.enc(a2.ID)}})
	if resp.StatusCode != 200 || doc["album"].(map[string]any)["title"] != "First" {
		t.Fatalf("move: %d %v", resp.StatusCode, doc)
	}
	if n := g.mustAlbum(first.ID).ImageCount; n != 2 {
		t.Errorf("first has %d images, want 2", n)
	}
	if n := g.mustAlbum(second.ID).ImageCount; n != 0 {
		t.Errorf("second has %d images, want 0", n)
	}
	resp, doc = alice.postJSON("/albums/move", map[string]any{"album_id": "", "image_ids": []string{g.enc(a1.ID)}})
	if _, has := doc["album"]; resp.StatusCode != 200 || has {
		t.Errorf("move out: %d %v", resp.StatusCode, doc)
	}
	if g.mustImage(a1.ID).AlbumID != 0 {
		t.Error("image still in an album")
	}
	resp, doc = alice.postJSON("/albums/move", map[string]any{"album_id": g.enc(first.ID), "image_ids": []string{}})
	if resp.StatusCode != 400 || jsonError(t, doc) != "Select at least one image." {
		t.Errorf("empty move: %d %v", resp.StatusCode, doc)
	}
	// The form of My images returns there with a notice.
	resp, _ = alice.post("/albums/move", url.Values{"album_id": {g.enc(second.ID)}, "image_ids": {g.enc(a1.ID), g.enc(a2.ID)}, "back": {"/my?q=o"}})
	if loc := location(resp); resp.StatusCode != http.StatusSeeOther || loc != "/my?done=moved&n=2&q=o" {
		t.Errorf("form move: %d to %q", resp.StatusCode, loc)
	}
	if _, body := alice.get("/my?done=moved&n=2"); !strings.Contains(body, "2 images moved.") {
		t.Error("no notice after the move")
	}
	if n := g.mustAlbum(second.ID).ImageCount; n != 2 {
		t.Errorf("second has %d images, want 2", n)
	}
	// back is a local path only.
	resp, _ = alice.post("/albums/move", url.Values{"album_id": {""}, "image_ids": {g.enc(a1.ID)}, "back": {"//evil.example/x"}})
	if loc := location(resp); !strings.HasPrefix(loc, "/my?") {
		t.Errorf("back to another site: %q", loc)
	}
}

// TestOthersRefused: one user touching another's images or albums gets the
// 404 of an unknown id, and nothing changes in the store.
func TestOthersRefused(t *testing.T) {
	g := newGalleryHost(t, Config{})
	aliceImg := g.upload(g.aliceKey, "alice's")
	aliceImg2 := g.upload(g.aliceKey, "alice's second")
	bobImg := g.upload(g.bobK, "bob's")
	alice, bob := g.client("alice"), g.client("bob")
	aliceAlbum := g.createAlbum(alice, "Alice private", store.PrivacyPrivate, "", aliceImg)
	bobAlbum := g.createAlbum(bob, "Bob public", store.PrivacyPublic, "")

	type snapshot struct {
		albums map[uint64]store.Album
		images map[uint64]store.Image
	}
	snap := func() snapshot {
		s := snapshot{albums: map[uint64]store.Album{}, images: map[uint64]store.Image{}}
		for _, u := range []uint64{g.alice.ID, g.bob.ID} {
			albums, _ := g.store.Albums(u)
			for _, a := range albums {
				s.albums[a.ID] = a
			}
			imgs, _ := g.store.Images(u, 0, 100)
			for _, img := range imgs {
				s.images[img.ID] = img
			}
		}
		return s
	}
	ids := func(imgs ...store.Image) []string {
		var out []string
		for _, img := range imgs {
			out = append(out, g.enc(img.ID))
		}
		return out
	}
	bob.get("/my")
	for _, tc := range []struct {
		name string
		send func() *http.Response
	}{
		{"album of alice's images", func() *http.Response {
			r, _ := bob.postJSON("/albums", map[string]any{"title": "stolen", "image_ids": ids(aliceImg)})
			return r
		}},
		{"album of his and alice's images", func() *http.Response {
			r, _ := bob.postJSON("/albums", map[string]any{"title": "stolen", "image_ids": ids(bobImg, aliceImg2)})
			return r
		}},
		{"move alice's image into his album", func() *http.Response {
			r, _ := bob.postJSON("/albums/move", map[string]any{"album_id": g.enc(bobAlbum.ID), "image_ids": ids(aliceImg2)})
			return r
		}},
		{"move alice's image out of her album", func() *http.Response {
			r, _ := bob.postJSON("/albums/move", map[string]any{"album_id": "", "image_ids": ids(aliceImg)})
			return r
		}},
		{"move his image into alice's album", func() *http.Response {
			r, _ := bob.postJSON("/albums/move", map[string]any{"album_id": g.enc(aliceAlbum.ID), "image_ids": ids(bobImg)})
			return r
		}},
		{"move by form", func() *http.Response {
			r, _ := bob.post("/albums/move", url.Values{"album_id": {g.enc(bobAlbum.ID)}, "image_ids": ids(bobImg, aliceImg2)})
			return r
		}},
		{"delete alice's images", func() *http.Response {
			r, _ := bob.post("/my/delete", url.Values{"image_ids": ids(bobImg, aliceImg2)})
			return r
		}},
		{"edit alice's album", func() *http.Response {
			r, _ := bob.post("/album/"+g.enc(aliceAlbum.ID)+"/edit", url.Values{"title": {"mine"}, "privacy": {"public"}})
			return r
		}},
		{"see alice's album's edit page", func() *http.Response {
			r, _ := bob.get("/album/" + g.enc(aliceAlbum.ID) + "/edit")
			return r
		}},
		{"delete alice's album with its images", func() *http.Response {
			r, _ := bob.post("/album/"+g.enc(aliceAlbum.ID)+"/delete", url.Values{"mode": {"images"}})
			return r
		}},
		{"edit alice's image", func() *http.Response {
			r, _ := bob.post("/image/"+g.enc(aliceImg2.ID)+"/edit", url.Values{"title": {"mine"}})
			return r
		}},
		{"delete alice's image", func() *http.Response {
			r, _ := bob.post("/image/"+g.enc(aliceImg2.ID)+"/delete", nil)
			return r
		}},
		{"unknown image id", func() *http.Response {
			r, _ := bob.postJSON("/albums/move", map[string]any{"album_id": "", "image_ids": []string{"zzzzz"}})
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snap()
			if resp := tc.send(); resp.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404", resp.StatusCode)
			}
			after := snap()
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("the store changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	// Alice's things are as they were, and her own requests work.
	if g.mustImage(aliceImg.ID).AlbumID != aliceAlbum.ID || g.mustAlbum(aliceAlbum.ID).Title != "Alice private" {
		t.Error("alice's album changed")
	}
	alice.get("/my")
	if resp, _ := alice.post("/my/delete", url.Values{"image_ids": ids(aliceImg2)}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("alice deleting her image: %d", resp.StatusCode)
	}
}

// TestAlbumPrivacy: who sees an album page and the viewer pages of its
// images, for each privacy.
func TestAlbumPrivacy(t *testing.T) {
	g := newGalleryHost(t, Config{})
	alice := g.client("alice")
	albums := map[store.Privacy]store.Album{}
	images := map[store.Privacy]store.Image{}
	for _, p := range []store.Privacy{store.PrivacyPublic, store.PrivacyUnlisted, store.PrivacyPassword, store.PrivacyPrivate} {
		img := g.upload(g.aliceKey, "secret title "+string(p))
		pw := ""
		if p == store.PrivacyPassword {
			pw = "open-sesame"
		}
		albums[p] = g.createAlbum(alice, "Album "+string(p), p, pw, img)
		images[p] = img
	}
	clients := map[string]*webClient{"stranger": g.client(""), "bob": g.client("bob"), "alice": alice, "admin": g.client("admin")}
	for _, tc := range []struct {
		who     string
		privacy store.Privacy
		want    int // 200 page, 403 password prompt, 404
	}{
		{"stranger", store.PrivacyPublic, 200},
		{"stranger", store.PrivacyUnlisted, 200},
		{"stranger", store.PrivacyPassword, 403},
		{"stranger", store.PrivacyPrivate, 404},
		{"bob", store.PrivacyUnlisted, 200},
		{"bob", store.PrivacyPassword, 403},
		{"bob", store.PrivacyPrivate, 404},
		{"alice", store.PrivacyPassword, 200},
		{"alice", store.PrivacyPrivate, 200},
		{"admin", store.PrivacyPrivate, 200},
	} {
		t.Run(tc.who+" "+string(tc.privacy), func(t *testing.T) {
			w := clients[tc.who]
			a, img := albums[tc.privacy], images[tc.privacy]
			albumURL := site.AlbumPath(a.Title, g.enc(a.ID))
			viewerURL := site.ViewerPath(img.Title, g.enc(img.ID))
			for _, p := range []string{albumURL, viewerURL} {
				resp, body := w.get(p)
				if resp.StatusCode != tc.want {
					t.Errorf("GET %s: %d, want %d", p, resp.StatusCode, tc.want)
				}
				switch tc.want {
				case 200:
					if !strings.Contains(body, img.Title) {
						t.Errorf("GET %s: no image title", p)
					}
				case 403:
					if !strings.Contains(body, "This album is password protected") || !strings.Contains(body, `action="/album/`+g.enc(a.ID)+`/unlock"`) {
						t.Errorf("GET %s: no password prompt", p)
					}
				}
				if tc.want != 200 && (strings.Contains(body, img.Title) || strings.Contains(body, a.Title)) {
					t.Errorf("GET %s: the refusal names the album or image", p)
				}
				noindex := strings.Contains(body, `<meta name="robots" content="noindex">`)
				if noindex != (tc.privacy != store.PrivacyPublic) {
					t.Errorf("GET %s: noindex %v", p, noindex)
				}
			}
			// Short and wrong-slug URLs redirect only for those who may
			// see the page; for the rest they are the same refusal.
			for _, p := range []string{"/album/" + g.enc(a.ID), "/album/wrong." + g.enc(a.ID), "/image/" + g.enc(img.ID)} {
				resp, _ := w.get(p)
				want := tc.want
				if want == 200 {
					want = http.StatusMovedPermanently
				}
				if resp.StatusCode != want {
					t.Errorf("GET %s: %d, want %d", p, resp.StatusCode, want)
				}
			}
		})
	}
	// The owner's tools show to the owner and admins only.
	for who, want := range map[string]bool{"alice": true, "admin": true, "bob": false, "stranger": false} {
		_, body := clients[who].get(site.AlbumPath(albums[store.PrivacyUnlisted].Title, g.enc(albums[store.PrivacyUnlisted].ID)))
		if got := strings.Contains(body, "Edit album"); got != want {
			t.Errorf("%s sees the album's edit tools: %v", who, got)
		}
		if got := strings.Contains(body, "/delete/"); got != want {
			t.Errorf("%s gets delete links: %v", who, got)
		}
	}
	// Only the owner is offered to upload into the album.
	unlisted := albums[store.PrivacyUnlisted]
	for who, want := range map[string]bool{"alice": true, "admin": false} {
		_, body := clients[who].get(site.AlbumPath(unlisted.Title, g.enc(unlisted.ID)))
		if got := strings.Contains(body, `href="/upload?toAlbum=`+g.enc(unlisted.ID)+`"`); got != want {
			t.Errorf("%s is offered to upload into the album: %v", who, got)
		}
	}
	// The viewer names an unlisted album to its owner only.
	_, body := clients["stranger"].get(site.ViewerPath(images[store.PrivacyUnlisted].Title, g.enc(images[store.PrivacyUnlisted].ID)))
	if strings.Contains(body, "/album/") {
		t.Error("the viewer of an unlisted album's image links the album for a stranger")
	}
	_, body = clients["stranger"].get(site.ViewerPath(images[store.PrivacyPublic].Title, g.enc(images[store.PrivacyPublic].ID)))
	if !strings.Contains(body, site.AlbumPath(albums[store.PrivacyPublic].Title, g.enc(albums[store.PrivacyPublic].ID))) {
		t.Error("the viewer of a public album's image does not link the album")
	}
}

var unlockCookie = regexp.MustCompile(`^pb_album_[0-9A-Za-z]+=[0-9a-f]{40}; `)

func TestAlbumPassword(t *testing.T) {
	g := newGalleryHost(t, Config{})
	alice := g.client("alice")
	img := g.upload(g.aliceKey, "locked photo")
	a := g.createAlbum(alice, "Locked", store.PrivacyPassword, "open-sesame", img)
	albumURL := site.AlbumPath(a.Title, g.enc(a.ID))
	viewerURL := site.ViewerPath(img.Title, g.enc(img.ID))
	unlock := "/album/" + g.enc(a.ID) + "/unlock"

	stranger := g.client("")
	stranger.get(viewerURL)
	resp, body := stranger.post(unlock, url.Values{"password": {"wrong-one"}, "next": {viewerURL}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Wrong password.") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	if resp, _ := stranger.get(albumURL); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("album after a wrong password: %d", resp.StatusCode)
	}
	resp, _ = stranger.post(unlock, url.Values{"password": {"open-sesame"}, "next": {viewerURL}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != viewerURL {
		t.Fatalf("right password: %d to %q", resp.StatusCode, location(resp))
	}
	ck := resp.Header.Get("Set-Cookie")
	if !unlockCookie.MatchString(ck) || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
		t.Errorf("unlock cookie %q", ck)
	}
	for _, p := range []string{albumURL, viewerURL} {
		if resp, body := stranger.get(p); resp.StatusCode != 200 || !strings.Contains(body, "locked photo") {
			t.Errorf("GET %s after unlocking: %d", p, resp.StatusCode)
		}
	}
	// An open redirect is not possible through next.
	resp, _ = stranger.post(unlock, url.Values{"password": {"open-sesame"}, "next": {"https://evil.example/"}})
	if loc := location(resp); loc != albumURL {
		t.Errorf("next to another site: went to %q", loc)
	}
	// The cookie is bound to this browser: another one sending it is not let in.
	other := g.client("")
	u, _ := url.Parse(g.http.URL)
	for _, c := range stranger.c.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, albumCookiePrefix) {
			other.c.Jar.SetCookies(u, []*http.Cookie{c})
		}
	}
	if resp, _ := other.get(albumURL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the unlock cookie opened the album in another browser: %d", resp.StatusCode)
	}

	// Editing anything but the password (here the description) keeps the album open to browsers
	// that unlocked it.
	alice.get("/album/" + g.enc(a.ID) + "/edit")
	if resp, _ := alice.post("/album/"+g.enc(a.ID)+"/edit", url.Values{"title": {"Locked"}, "description": {"new words"}, "privacy": {"password"}, "password": {""}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("description edit: %d", resp.StatusCode)
	}
	if resp, _ := stranger.get(albumURL); resp.StatusCode != http.StatusOK {
		t.Errorf("GET the album after a description edit: %d, want it still unlocked", resp.StatusCode)
	}
	// A new password locks everyone out again, within the same second too.
	resp, _ = alice.post("/album/"+g.enc(a.ID)+"/edit", url.Values{"title": {"Locked"}, "privacy": {"password"}, "password": {"new-secret"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d", resp.StatusCode)
	}
	for _, p := range []string{albumURL, viewerURL} {
		if resp, _ := stranger.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s after the password changed: %d, want the prompt", p, resp.StatusCode)
		}
	}
	if resp, _ := stranger.post(unlock, url.Values{"password": {"open-sesame"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("old password after the change: %d", resp.StatusCode)
	}
	if resp, _ := stranger.post(unlock, url.Values{"password": {"new-secret"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("new password: %d", resp.StatusCode)
	}
	if resp, _ := stranger.get(albumURL); resp.StatusCode != 200 {
		t.Errorf("album with the new password: %d", resp.StatusCode)
	}
	// The edit form kept the password when left empty.
	alice.post("/album/"+g.enc(a.ID)+"/edit", url.Values{"title": {"Locked 2"}, "privacy": {"password"}, "password": {""}})
	if !g.store.CheckAlbumPassword(a.ID, "new-secret") {
		t.Error("an empty password field did not keep the password")
	}

	// Failures are throttled per address, like logins (another browser
	// from the same address: the stranger's is unlocked now).
	for i := 0; i < maxLoginFailures-2; i++ { // two failed above
		other.post(unlock, url.Values{"password": {"guess"}})
	}
	resp, body = other.post(unlock, url.Values{"password": {"new-secret"}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong passwords.") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after %d failures: %d", maxLoginFailures, resp.StatusCode)
	}
	// Logins from the address are not affected by album guesses.
	alice2 := newWebClient(t, g.testHost)
	alice2.login("alice", galleryPassword, false)
}

func TestAlbumEditAndDelete(t *testing.T) {
	g := newGalleryHost(t, Config{})
	alice := g.client("alice")
	i1, i2, i3 := g.upload(g.aliceKey, "a"), g.upload(g.aliceKey, "b"), g.upload(g.aliceKey, "c")
	keep := g.createAlbum(alice, "Keep", store.PrivacyPublic, "", i1)
	drop := g.createAlbum(alice, "Drop", store.PrivacyUnlisted, "", i2, i3)

	resp, body := alice.get("/album/" + g.enc(keep.ID) + "/edit")
	if resp.StatusCode != 200 || !strings.Contains(body, `value="Keep"`) {
		t.Fatalf("edit page: %d", resp.StatusCode)
	}
	resp, _ = alice.post("/album/"+g.enc(keep.ID)+"/edit", url.Values{"title": {"Kept album"}, "description": {"line one\r\nline two"}, "privacy": {"unlisted"}})
	if loc := location(resp); resp.StatusCode != http.StatusSeeOther || loc != "/album/kept-album."+g.enc(keep.ID)+"?done=saved" {
		t.Fatalf("edit: %d to %q", resp.StatusCode, loc)
	}
	if a := g.mustAlbum(keep.ID); a.Title != "Kept album" || a.Description != "line one\nline two" || a.Privacy != store.PrivacyUnlisted {
		t.Errorf("after edit: %+v", a)
	}
	resp, body = alice.post("/album/"+g.enc(keep.ID)+"/edit", url.Values{"title": {""}, "privacy": {"public"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "You must enter the album name.") {
		t.Errorf("edit without name: %d", resp.StatusCode)
	}
	resp, body = alice.post("/album/"+g.enc(keep.ID)+"/edit", url.Values{"title": {"x"}, "privacy": {"password"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "The password must be 6 to 128 characters.") {
		t.Errorf("password privacy without a password: %d", resp.StatusCode)
	}
	resp, _ = alice.post("/album/"+g.enc(keep.ID)+"/delete", nil)
	if resp.StatusCode != 400 {
		t.Errorf("delete without a mode: %d", resp.StatusCode)
	}

	// Keep the images: they stay, out of any album.
	resp, _ = alice.post("/album/"+g.enc(keep.ID)+"/delete", url.Values{"mode": {"keep"}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/albums?done=deleted" {
		t.Fatalf("delete keep: %d to %q", resp.StatusCode, location(resp))
	}
	if _, err := g.store.Album(keep.ID); err == nil {
		t.Error("album still there")
	}
	if img := g.mustImage(i1.ID); img.AlbumID != 0 {
		t.Errorf("kept image in album %d", img.AlbumID)
	}

	// Delete the images too: records gone, files answer 404 at once.
	fileURL := g.srv.site.Links(httptestRequest(g), i2).Full
	if code := getStatus(t, fileURL); code != 200 {
		t.Fatalf("file before: %d", code)
	}
	resp, _ = alice.post("/album/"+g.enc(drop.ID)+"/delete", url.Values{"mode": {"images"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete images: %d", resp.StatusCode)
	}
	for _, img := range []store.Image{i2, i3} {
		if _, err := g.store.Image(img.ID); err == nil {
			t.Errorf("image %d still there", img.ID)
		}
	}
	if code := getStatus(t, fileURL); code != 404 {
		t.Errorf("file of a deleted image: %d, want 404", code)
	}
	if _, body := alice.get("/albums?done=deleted"); !strings.Contains(body, "Album deleted.") || strings.Contains(body, "Drop") {
		t.Error("albums page after deleting")
	}
	if resp, _ := alice.get(site.AlbumPath("Drop", g.enc(drop.ID))); resp.StatusCode != 404 {
		t.Errorf("deleted album page: %d", resp.StatusCode)
	}
}

// httptestRequest is a request as the test server sees it, for Site.Links.
func httptestRequest(g *galleryHost) *http.Request {
	r, _ := http.NewRequest("GET", g.http.URL+"/", nil)
	r.Host = strings.TrimPrefix(g.http.URL, "http://")
	return r
}

func getStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestAlbumsPage(t *testing.T) {
	g := newGalleryHost(t, Config{})
	alice := g.client("alice")
	img := g.upload(g.aliceKey, "cover")
	a := g.createAlbum(alice, "With cover", store.PrivacyPassword, "open-sesame", img)
	g.createAlbum(alice, "Empty", store.PrivacyPrivate, "")
	g.createAlbum(g.client("bob"), "Not alice's", store.PrivacyPublic, "")
	_, body := alice.get("/albums")
	for _, want := range []string{"With cover", "Empty", "Password protected", "Private", "1 image", "0 images", site.AlbumPath(a.Title, g.enc(a.ID)), ".th.png"} {
		if !strings.Contains(body, want) {
			t.Errorf("albums page lacks %q", want)
		}
	}
	if strings.Contains(body, "Not alice's") {
		t.Error("albums page lists another user's album")
	}
	// Chinese.
	alice.get("/albums")
	alice.post("/lang", url.Values{"lang": {"zh-CN"}, "back": {"/albums"}})
	if _, body := alice.get("/albums"); !strings.Contains(body, "创建相册") || !strings.Contains(body, "1 张图片") || !strings.Contains(body, "密码保护") {
		t.Error("albums page not in Chinese")
	}
}
