package server

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"picbed/server/site"
	"picbed/store"
)

var (
	tileID    = regexp.MustCompile(`name="image_ids" value="([^"]+)"`)
	olderLink = regexp.MustCompile(`<a href="([^"]+)" rel="next" data-older>`)
)

// myPageIDs returns the image ids of a My images page in order, and the
// URL of its Older link.
func myPageIDs(body string) (ids []string, older string) {
	for _, m := range tileID.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	if m := olderLink.FindStringSubmatch(body); m != nil {
		older = html.UnescapeString(m[1])
	}
	return ids, older
}

// TestMyImagesPaging: newest first, full pages with an Older link that
// leads through all images exactly once; an album page pages the same way.
func TestMyImagesPaging(t *testing.T) {
	g := newGalleryHost(t, Config{})
	var want []string // newest first
	for i := 0; i < myPageSize+3; i++ {
		img := g.upload(g.aliceKey, fmt.Sprintf("photo %d", i))
		want = append([]string{g.enc(img.ID)}, want...)
	}
	g.upload(g.bobK, "bob's photo")
	alice := g.client("alice")
	resp, body := alice.get("/my")
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf("%d images", len(want))) {
		t.Fatalf("GET /my: %d", resp.StatusCode)
	}
	var got []string
	page, next := body, ""
	for i := 0; ; i++ {
		ids, older := myPageIDs(page)
		if len(ids) > myPageSize {
			t.Fatalf("page %d has %d images", i, len(ids))
		}
		got = append(got, ids...)
		if older == "" {
			break
		}
		if i > 3 {
			t.Fatal("too many pages")
		}
		next = older
		_, page = alice.get(next)
		if !strings.Contains(page, `href="/my">Newest</a>`) {
			t.Errorf("page %s has no link to the newest", next)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pages list\n%v\nwant\n%v", got, want)
	}
	if strings.Contains(body, "bob&#39;s photo") {
		t.Error("My images shows another user's image")
	}

	// The same images in an album: its pages, and the embed codes of each.
	all := make([]store.Image, 0, len(want))
	for _, id := range want {
		all = append(all, g.mustImage(mustDecode(t, g, id)))
	}
	a := g.createAlbum(alice, "Big", store.PrivacyUnlisted, "", all...)
	stranger := g.client("")
	_, body = stranger.get(site.AlbumPath(a.Title, g.enc(a.ID)))
	if n := strings.Count(body, `<li class="tile">`); n != albumPageSize {
		t.Errorf("album page 1 has %d tiles, want %d", n, albumPageSize)
	}
	m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("album page has no Older link")
	}
	_, body = stranger.get(html.UnescapeString(m[1]))
	if n := strings.Count(body, `<li class="tile">`); n != len(want)-albumPageSize {
		t.Errorf("album page 2 has %d tiles, want %d", n, len(want)-albumPageSize)
	}
	if !strings.Contains(body, "data-embed-images=") || !strings.Contains(body, g.enc(all[len(all)-1].ID)) {
		t.Error("album page 2 lacks the embed data of its images")
	}
}

func TestMyImagesSearch(t *testing.T) {
	g := newGalleryHost(t, Config{})
	titles := []string{"小猫咪在睡觉", "Sunset at the beach", "大猫", "SUNSET again", "dog"}
	ids := map[string]string{}
	for _, title := range titles {
		ids[title] = g.enc(g.upload(g.aliceKey, title).ID)
	}
	g.upload(g.bobK, "猫 of bob")
	alice := g.client("alice")
	for _, tc := range []struct {
		q    string
		want []string // newest first
	}{
		{"猫", []string{"大猫", "小猫咪在睡觉"}},
		{"猫咪", []string{"小猫咪在睡觉"}},
		{"sunset", []string{"SUNSET again", "Sunset at the beach"}},
		{"  SUNSET  ", []string{"SUNSET again", "Sunset at the beach"}},
		{"small", []string{"dog", "SUNSET again", "大猫", "Sunset at the beach", "小猫咪在睡觉"}}, // the file name
		{"nothing like it", nil},
	} {
		t.Run(tc.q, func(t *testing.T) {
			resp, body := alice.get("/my?q=" + url.QueryEscape(tc.q))
			if resp.StatusCode != 200 {
				t.Fatalf("%d", resp.StatusCode)
			}
			got, _ := myPageIDs(body)
			var want []string
			for _, title := range tc.want {
				want = append(want, ids[title])
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("found %v, want %v", got, want)
			}
			if tc.want == nil && !strings.Contains(body, "No images match your search.") {
				t.Error("no empty-search message")
			}
			if !strings.Contains(body, `value="`+html.EscapeString(strings.TrimSpace(tc.q))+`"`) {
				t.Error("the search box lost the query")
			}
		})
	}
}

func TestMyImagesDelete(t *testing.T) {
	g := newGalleryHost(t, Config{})
	i1, i2, i3 := g.upload(g.aliceKey, "one"), g.upload(g.aliceKey, "two"), g.upload(g.aliceKey, "three")
	alice := g.client("alice")
	files := []string{g.srv.site.Links(httptestRequest(g), i1).Full, g.srv.site.Links(httptestRequest(g), i1).Thumb}
	for _, f := range files {
		if code := getStatus(t, f); code != 200 {
			t.Fatalf("GET %s: %d", f, code)
		}
	}
	_, body := alice.get("/my")
	if !strings.Contains(body, `formaction="/my/delete"`) || !strings.Contains(body, "data-confirm=") {
		t.Error("no delete button with a confirmation")
	}
	resp, _ := alice.post("/my/delete", url.Values{"image_ids": {g.enc(i1.ID), g.enc(i2.ID)}, "back": {"/my"}})
	if loc := location(resp); resp.StatusCode != http.StatusSeeOther || loc != "/my?done=deleted&n=2" {
		t.Fatalf("delete: %d to %q", resp.StatusCode, loc)
	}
	for _, img := range []store.Image{i1, i2} {
		if _, err := g.store.Image(img.ID); err == nil {
			t.Errorf("image %d still there", img.ID)
		}
	}
	for _, f := range files {
		if code := getStatus(t, f); code != 404 {
			t.Errorf("GET %s after delete: %d", f, code)
		}
	}
	g.mustImage(i3.ID)
	if _, body := alice.get("/my?done=deleted&n=2"); !strings.Contains(body, "2 images deleted.") {
		t.Error("no notice")
	}
	// Without the CSRF token nothing happens.
	resp, _ = alice.post("/my/delete", url.Values{"csrf": {"nope"}, "image_ids": {g.enc(i3.ID)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("delete without CSRF token: %d", resp.StatusCode)
	}
	g.mustImage(i3.ID)
	// JSON, as a script would.
	alice.get("/my")
	resp2, doc := alice.postJSON("/my/delete", map[string]any{"image_ids": []string{g.enc(i3.ID)}})
	if resp2.StatusCode != 200 || doc["deleted"] != 1.0 {
		t.Errorf("JSON delete: %d %v", resp2.StatusCode, doc)
	}
	if _, body := alice.get("/my"); !strings.Contains(body, "You have not uploaded any images yet.") {
		t.Error("empty My images has no message")
	}
}

func TestViewerOwnerTools(t *testing.T) {
	g := newGalleryHost(t, Config{Settings: site.Settings{EXIF: 1}}) // keep EXIF
	photo := g.upload(g.aliceKey, "Canon shot", "photo.jpg")
	if photo.EXIF == "" {
		t.Fatal("the test photo kept no EXIF")
	}
	alice, bob, stranger, admin := g.client("alice"), g.client("bob"), g.client(""), g.client("admin")
	a := g.createAlbum(alice, "Trip", store.PrivacyPublic, "", photo)
	path := site.ViewerPath(photo.Title, g.enc(photo.ID))

	_, body := alice.get(path)
	for _, want := range []string{
		"Manage this image", `action="/image/` + g.enc(photo.ID) + `/edit"`, `action="/image/` + g.enc(photo.ID) + `/delete"`,
		"data-embed-images=", "/delete/", "EXIF data", "<th scope=\"row\">Make</th><td>Canon</td>",
		site.AlbumPath(a.Title, g.enc(a.ID)), `<meta property="og:title" content="Canon shot">`, "gallery.js",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("owner's viewer page lacks %q", want)
		}
	}
	if _, body := admin.get(path); !strings.Contains(body, "Manage this image") {
		t.Error("admin has no tools")
	}
	for who, w := range map[string]*webClient{"bob": bob, "stranger": stranger} {
		resp, body := w.get(path)
		if resp.StatusCode != 200 || !strings.Contains(body, `<meta property="og:title" content="Canon shot">`) {
			t.Errorf("%s: viewer %d", who, resp.StatusCode)
		}
		for _, bad := range []string{"Manage this image", "/delete/", "EXIF", "Canon</td>", "gallery.js"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s's viewer page contains %q", who, bad)
			}
		}
	}

	// Edit: the canonical path follows the new title.
	alice.get(path)
	resp, _ := alice.post("/image/"+g.enc(photo.ID)+"/edit", url.Values{"title": {"Camera <test>"}, "description": {"by the lake"}})
	newPath := site.ViewerPath("Camera <test>", g.enc(photo.ID))
	if loc := location(resp); resp.StatusCode != http.StatusSeeOther || loc != newPath+"?done=saved" {
		t.Fatalf("edit: %d to %q", resp.StatusCode, loc)
	}
	if img := g.mustImage(photo.ID); img.Title != "Camera <test>" || img.Description != "by the lake" {
		t.Errorf("after edit: %q %q", img.Title, img.Description)
	}
	_, body = alice.get(newPath + "?done=saved")
	if !strings.Contains(body, "Saved.") || !strings.Contains(body, "Camera &lt;test&gt;") || strings.Contains(body, "Camera <test>") {
		t.Error("edited page: no notice or unescaped title")
	}
	resp, body = alice.post("/image/"+g.enc(photo.ID)+"/edit", url.Values{"title": {strings.Repeat("x", store.MaxTitleLen+1)}})
	if resp.StatusCode != 400 || !strings.Contains(body, "The title can have at most 100 characters.") {
		t.Errorf("long title: %d", resp.StatusCode)
	}
	if g.mustImage(photo.ID).Title != "Camera <test>" {
		t.Error("a refused edit changed the title")
	}
	// An admin may edit too.
	admin.get(newPath)
	if resp, _ := admin.post("/image/"+g.enc(photo.ID)+"/edit", url.Values{"title": {"Moderated"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("admin edit: %d", resp.StatusCode)
	}

	// Delete from the viewer: to My images, files gone.
	file := g.srv.site.Links(httptestRequest(g), photo).Full
	alice.get("/my")
	resp, _ = alice.post("/image/"+g.enc(photo.ID)+"/delete", nil)
	if loc := location(resp); resp.StatusCode != http.StatusSeeOther || loc != "/my?done=deleted&n=1" {
		t.Fatalf("delete: %d to %q", resp.StatusCode, loc)
	}
	if _, err := g.store.Image(photo.ID); err == nil {
		t.Error("image still there")
	}
	if code := getStatus(t, file); code != 404 {
		t.Errorf("file after delete: %d", code)
	}
	if _, body := alice.get("/my?done=deleted&n=1"); !strings.Contains(body, "1 image deleted.") {
		t.Error("no notice after deleting")
	}
}

func TestExifRows(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", "[]"},
		{"not json", "[]"},
		{`["a"]`, "[]"},
		{`{"Model":"X","Make":"<b>","N":3,"L":[1,2],"Z":null}`, `[{L [1,2]} {Make <b>} {Model X} {N 3} {Z }]`},
	} {
		if got := fmt.Sprint(exifRows(tc.in)); got != tc.want {
			t.Errorf("exifRows(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestAlbumPathAndIDs(t *testing.T) {
	for _, tc := range []struct{ title, want string }{
		{"Holiday 2026", "/album/holiday-2026.abc"},
		{"猫咪", "/album/%E7%8C%AB%E5%92%AA.abc"},
		{"!!!", "/album/abc"},
		{"The Best of Me_2022", "/album/best-me-2022.abc"},
	} {
		if got := site.AlbumPath(tc.title, "abc"); got != tc.want {
			t.Errorf("site.AlbumPath(%q) = %q, want %q", tc.title, got, tc.want)
		}
	}
	for _, tc := range []struct{ back, want string }{
		{"", "/my?done=x&n=2"},
		{"/my?q=%E7%8C%AB&before=abc", "/my?before=abc&done=x&n=2&q=%E7%8C%AB"},
		{"https://evil.example/my", "/my?done=x&n=2"},
		{"//evil.example/my", "/my?done=x&n=2"},
		{"/my?done=old&n=9", "/my?done=x&n=2"},
	} {
		if got := withDone(tc.back, "/my", "x", 2); got != tc.want {
			t.Errorf("withDone(%q) = %q, want %q", tc.back, got, tc.want)
		}
	}
}

// TestNonLatinSlugs: a viewer page of a Chinese title has the title's
// words in its URL, percent-encoded, and that URL answers without a
// redirect; the short URL leads there. Before, the slug kept only the
// ASCII digits ("照片 测试 (1)" gave /image/1.ID).
func TestNonLatinSlugs(t *testing.T) {
	h := newTestHost(t, Config{})
	_, doc, raw := h.post(t, map[string]string{"title": "照片 测试 (1)"}, "a.png", readTestdata(t, "small.png"), nil)
	img := imageOf(t, doc, raw)
	id := img["id_encoded"].(string)
	want := h.http.URL + "/image/%E7%85%A7%E7%89%87-%E6%B5%8B%E8%AF%95-1." + id
	if img["url_viewer"] != want {
		t.Fatalf("url_viewer %q, want %q", img["url_viewer"], want)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(want)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the canonical viewer URL answers %d", resp.StatusCode)
	}
	resp, err = noFollow.Get(img["url_short"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || h.http.URL+loc != want {
		t.Errorf("short URL: %d to %q", resp.StatusCode, loc)
	}
}
