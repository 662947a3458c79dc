package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"picbed/ingest"
	"picbed/server/api/chevereto"
	"picbed/server/site"
	"picbed/store"
)

// webUpload sends one file to POST /upload as the upload page does: multipart,
// Accept: application/json and the CSRF token of the last page in the
// X-CSRF-Token header (token "" sends no header). hdr adds headers.
func (w *webClient) webUpload(token string, fields map[string]string, name string, file []byte, hdr ...string) (int, map[string]any, string) {
	w.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("source", name)
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", w.h.http.URL+"/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-CSRF-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, raw := w.do(req)
	var doc map[string]any
	json.Unmarshal([]byte(raw), &doc)
	return resp.StatusCode, doc, raw
}

// setSite changes the live settings of h.
func setSite(t *testing.T, h *testHost, change func(*site.Settings)) {
	t.Helper()
	next := *h.srv.site.Settings()
	change(&next)
	if err := h.srv.site.SaveSettings(next); err != nil {
		t.Fatal(err)
	}
}

// storedImage returns the record of the image an upload answer names.
func storedImage(t *testing.T, h *testHost, doc map[string]any, raw string) store.Image {
	t.Helper()
	img := imageOf(t, doc, []byte(raw))
	id, ok := h.store.DecodeID(img["id_encoded"].(string))
	if !ok {
		t.Fatalf("bad id_encoded in %s", raw)
	}
	stored, err := h.store.Image(id)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// TestWebUploadNeedsSessionAndCSRF: POST /upload takes the session as its
// credential and the CSRF header as proof that the page sent it; the answer
// is the API's success JSON, the image the session user's.
func TestWebUploadNeedsSessionAndCSRF(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	png := readTestdata(t, "small.png")

	// A guest while guest uploads are off (the default): refused, 403, in
	// Chevereto's error shape.
	guest := newWebClient(t, h)
	guest.get("/")
	status, doc, raw := guest.webUpload(guest.csrf, nil, "small.png", png)
	if status != http.StatusForbidden || doc["status_code"] != float64(403) {
		t.Fatalf("guest upload while guest uploads are off: %d %s", status, raw)
	}
	if msg, code := errorOf(t, doc, []byte(raw)); msg != "Guest uploads are off. Log in to upload." || code != 403 {
		t.Errorf("guest refusal: %q %v", msg, code)
	}

	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	w.get("/")
	good := w.csrf
	other := newWebClient(t, h)
	other.login("admin", "adminpass1", false)
	other.get("/")
	for _, tc := range []struct {
		name, token string
		hdr         []string
	}{
		{"no token", "", nil},
		{"wrong token", strings.Repeat("0", 40), nil},
		{"another session's token", other.csrf, nil},
		{"the token from another site", good, []string{"Origin", "https://evil.example"}},
	} {
		status, doc, raw := w.webUpload(tc.token, nil, "small.png", png, tc.hdr...)
		if status != http.StatusForbidden || doc["status_code"] != float64(403) {
			t.Errorf("%s: %d %s, want 403 JSON", tc.name, status, raw)
		}
	}
	if n, _ := h.store.CountImages(0); n != 0 {
		t.Fatalf("%d guest images stored by refused requests", n)
	}
	u, _ := h.store.UserByName("tester")
	if n, _ := h.store.CountImages(u.ID); n != 0 {
		t.Fatalf("%d images stored by refused requests", n)
	}

	status, doc, raw = w.webUpload(good, map[string]string{"title": "Web title", "nsfw": "1", "format": "txt"}, "small.png", png)
	if status != 200 || doc["status_code"] != float64(200) {
		t.Fatalf("upload with session and token: %d %s", status, raw)
	}
	img := storedImage(t, h, doc, raw)
	if img.OwnerID != u.ID || img.GuestID != "" || img.Title != "Web title" || !img.NSFW {
		t.Errorf("stored %+v", img)
	}
	// The same document as the API's: the API, sent the same bytes by the
	// same user, answers with the same (reused) image, byte for byte.
	_, _, apiRaw := h.post(t, nil, "small.png", png, nil)
	if string(apiRaw) != raw {
		t.Errorf("web answer\n%s\nAPI answer for the same image\n%s", raw, apiRaw)
	}
	if k := keysInOrder(t, raw); strings.Join(k[:3], ",") != "status_code,success,success.message" {
		t.Errorf("answer keys %v", k)
	}
	// The image's delete link works like the API's.
	if del := imageOf(t, doc, []byte(raw))["delete_url"].(string); !strings.Contains(del, "/delete/") {
		t.Errorf("delete_url %q", del)
	}
}

// keysInOrder lists the keys of the JSON object doc in document order,
// nested objects' keys as dotted paths.
func keysInOrder(t *testing.T, doc string) []string {
	t.Helper()
	var out []string
	var walk func(prefix string, raw []byte)
	walk = func(prefix string, raw []byte) {
		d := json.NewDecoder(bytes.NewReader(raw))
		if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
			return
		}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				t.Fatalf("decode %s: %v", prefix, err)
			}
			var val json.RawMessage
			if err := d.Decode(&val); err != nil {
				t.Fatalf("decode %s: %v", prefix, err)
			}
			key := prefix + k.(string)
			out = append(out, key)
			walk(key+".", val)
		}
	}
	walk("", []byte(doc))
	return out
}

// TestWebUploadGuests: guests upload only while guest uploads are on; their
// images carry the browser's guest id and become the user's when that
// browser logs in (startSession claims them). Another browser's guest
// images stay guest images, and a guest never gets another guest's image
// back as a duplicate.
func TestWebUploadGuests(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	png, photo := readTestdata(t, "small.png"), readTestdata(t, "photo.png")
	g := newWebClient(t, h)
	g.get("/")
	if status, _, raw := g.webUpload(g.csrf, nil, "small.png", png); status != http.StatusForbidden {
		t.Fatalf("guest uploads off: %d %s", status, raw)
	}
	if _, body := g.get("/"); !strings.Contains(body, "Log in to upload") || strings.Contains(body, "data-upload-input") {
		t.Error("the page offers the queue to a guest while guest uploads are off")
	}

	setSite(t, h, func(s *site.Settings) { s.GuestUploads = true })
	if _, body := g.get("/"); !strings.Contains(body, "data-upload-input") {
		t.Error("no file input for a guest while guest uploads are on")
	}
	status, doc, raw := g.webUpload(g.csrf, map[string]string{"title": "Guest one"}, "small.png", png)
	if status != 200 {
		t.Fatalf("guest upload: %d %s", status, raw)
	}
	first := storedImage(t, h, doc, raw)
	if first.OwnerID != 0 || len(first.GuestID) != 32 {
		t.Fatalf("guest image: owner %d, guest id %q", first.OwnerID, first.GuestID)
	}
	status, doc, raw = g.webUpload(g.csrf, nil, "photo.png", photo)
	if status != 200 {
		t.Fatalf("second guest upload: %d %s", status, raw)
	}
	second := storedImage(t, h, doc, raw)
	if second.GuestID != first.GuestID {
		t.Errorf("one browser, two guest ids: %q %q", first.GuestID, second.GuestID)
	}
	// An album is for users only.
	if status, _, raw := g.webUpload(g.csrf, map[string]string{"album_id": h.store.EncodeID(1)}, "small.png", png); status != 400 || !strings.Contains(raw, "That album does not exist or is not yours.") {
		t.Errorf("guest upload into an album: %d %s", status, raw)
	}

	// The same guest again: the duplicate policy (reuse) answers its image.
	status, doc, raw = g.webUpload(g.csrf, nil, "small.png", png)
	if again := storedImage(t, h, doc, raw); status != 200 || again.ID != first.ID {
		t.Errorf("same guest, same bytes: %d, image %d, want %d", status, again.ID, first.ID)
	}

	// Another browser: its own guest id; the same bytes are a new image,
	// not the first guest's (whose delete link it would get).
	o := newWebClient(t, h)
	o.get("/")
	status, doc, raw = o.webUpload(o.csrf, nil, "small.png", png)
	if status != 200 {
		t.Fatalf("other guest: %d %s", status, raw)
	}
	theirs := storedImage(t, h, doc, raw)
	if theirs.ID == first.ID || theirs.GuestID == first.GuestID {
		t.Fatalf("other guest got image %d (guest %q), first guest's is %d (%q)", theirs.ID, theirs.GuestID, first.ID, first.GuestID)
	}

	// Logging in claims this browser's guest images, and only those.
	g.login("tester", "password1", false)
	u, _ := h.store.UserByName("tester")
	for _, id := range []uint64{first.ID, second.ID} {
		img, err := h.store.Image(id)
		if err != nil || img.OwnerID != u.ID || img.GuestID != "" {
			t.Errorf("image %d after login: owner %d guest %q (%v), want owner %d", id, img.OwnerID, img.GuestID, err, u.ID)
		}
	}
	if img, _ := h.store.Image(theirs.ID); img.OwnerID != 0 || img.GuestID != theirs.GuestID {
		t.Errorf("the other browser's image was claimed: owner %d", img.OwnerID)
	}

	// Guest uploads off again: a guest is refused even with a valid token.
	setSite(t, h, func(s *site.Settings) { s.GuestUploads = false })
	if status, _, raw := o.webUpload(o.csrf, nil, "photo.png", photo); status != http.StatusForbidden {
		t.Errorf("guest uploads off again: %d %s", status, raw)
	}
}

// TestWebUploadAlbum: album_id must name an album of the uploader.
func TestWebUploadAlbum(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	u, _ := h.store.UserByName("tester")
	admin, _ := h.store.UserByName("admin")
	mine, err := h.store.CreateAlbum(u.ID, "Holidays", "", store.PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := h.store.CreateAlbum(admin.ID, "Admin's", "", store.PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	w.get("/")
	png := readTestdata(t, "small.png")

	for _, bad := range []string{h.store.EncodeID(theirs.ID), h.store.EncodeID(theirs.ID + 100), "../../1", "!!"} {
		status, doc, raw := w.webUpload(w.csrf, map[string]string{"album_id": bad}, "small.png", png)
		if status != 400 {
			t.Errorf("album_id %q: %d %s, want 400", bad, status, raw)
			continue
		}
		if msg, _ := errorOf(t, doc, []byte(raw)); msg != "That album does not exist or is not yours." {
			t.Errorf("album_id %q: %q", bad, msg)
		}
	}
	if n, _ := h.store.CountImages(u.ID); n != 0 {
		t.Fatalf("%d images stored by refused uploads", n)
	}
	if a, _ := h.store.Album(theirs.ID); a.ImageCount != 0 {
		t.Fatalf("the other user's album has %d images", a.ImageCount)
	}

	status, doc, raw := w.webUpload(w.csrf, map[string]string{"album_id": h.store.EncodeID(mine.ID)}, "small.png", png)
	if status != 200 {
		t.Fatalf("upload into own album: %d %s", status, raw)
	}
	if img := storedImage(t, h, doc, raw); img.AlbumID != mine.ID {
		t.Errorf("image in album %d, want %d", img.AlbumID, mine.ID)
	}
	// The same bytes into another album of the user: the reused image
	// stays where it is (TestReuseLeavesTheImageWhereItIs).
	second, _ := h.store.CreateAlbum(u.ID, "Second", "", store.PrivacyPrivate, "")
	status, doc, raw = w.webUpload(w.csrf, map[string]string{"album_id": h.store.EncodeID(second.ID)}, "small.png", png)
	if img := storedImage(t, h, doc, raw); status != 200 || img.AlbumID != mine.ID {
		t.Errorf("duplicate into another album: %d, album %d, want %d", status, img.AlbumID, mine.ID)
	}

	// The page lists the user's albums, ?toAlbum= preselects one, and
	// /upload leads there.
	resp, _ := w.get("/upload?toAlbum=" + h.store.EncodeID(second.ID))
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/?toAlbum="+h.store.EncodeID(second.ID) {
		t.Errorf("/upload: %d to %q", resp.StatusCode, location(resp))
	}
	_, body := w.get(location(resp))
	if !strings.Contains(body, `<option value="`+h.store.EncodeID(second.ID)+`" selected>Second</option>`) || !strings.Contains(body, ">Holidays</option>") {
		t.Error("the upload page does not list the user's albums with the preselected one")
	}
	if strings.Contains(body, "Admin&#39;s") {
		t.Error("the upload page lists another user's album")
	}
}

// TestDefaultExpiry: the admin's default auto-delete applies to web and API
// uploads that ask for no expiration; an explicit one wins, and a logged-in
// user may choose "never" on the web page.
func TestDefaultExpiry(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	mustAdmin(t, h)
	setSite(t, h, func(s *site.Settings) { s.DefaultExpiry = 48 * time.Hour; s.GuestUploads = true })
	png := readTestdata(t, "small.png")
	near := func(what string, img store.Image, want time.Duration) {
		t.Helper()
		if want == 0 {
			if !img.Expires.IsZero() {
				t.Errorf("%s: expires %v, want never", what, img.Expires)
			}
			return
		}
		if d := time.Until(img.Expires); d < want-time.Minute || d > want+time.Minute {
			t.Errorf("%s: expires in %v, want %v", what, d, want)
		}
	}

	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	_, body := w.get("/")
	if !strings.Contains(body, `<option value="P2D" selected>After 2 days</option>`) {
		t.Error("the page does not preselect the default auto-delete")
	}
	status, doc, raw := w.webUpload(w.csrf, nil, "small.png", png)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	near("web upload without expiration", storedImage(t, h, doc, raw), 48*time.Hour)
	_, doc, raw = w.webUpload(w.csrf, map[string]string{"expiration": "PT30M"}, "small.png", png)
	near("web upload with PT30M", storedImage(t, h, doc, raw), 30*time.Minute)
	_, doc, raw = w.webUpload(w.csrf, map[string]string{"expiration": "never"}, "small.png", png)
	near("web upload with never", storedImage(t, h, doc, raw), 0)

	// Guests cannot opt out of the default.
	g := newWebClient(t, h)
	_, body = g.get("/")
	if strings.Contains(body, `value="never"`) {
		t.Error("a guest is offered \"Don't autodelete\" against the default")
	}
	_, doc, raw = g.webUpload(g.csrf, map[string]string{"expiration": "never"}, "small.png", png)
	near("guest upload with never", storedImage(t, h, doc, raw), 48*time.Hour)

	// The API.
	status, apiDoc, apiRaw := h.post(t, nil, "small.png", png, nil)
	if status != 200 {
		t.Fatalf("%d %s", status, apiRaw)
	}
	near("API upload without expiration", storedImage(t, h, apiDoc, string(apiRaw)), 48*time.Hour)
	_, apiDoc, apiRaw = h.post(t, map[string]string{"expiration": "PT5M"}, "small.png", png, nil)
	near("API upload with PT5M", storedImage(t, h, apiDoc, string(apiRaw)), 5*time.Minute)

	// A default that is no preset gets its own option.
	setSite(t, h, func(s *site.Settings) { s.DefaultExpiry = 10 * 24 * time.Hour })
	if _, body := w.get("/"); !strings.Contains(body, `<option value="864000" selected>After 10 days</option>`) {
		t.Error("a default of 10 days is not offered and selected")
	}
	// No default: "Don't autodelete" is selected and uploads keep forever.
	setSite(t, h, func(s *site.Settings) { s.DefaultExpiry = 0 })
	if _, body := w.get("/"); !strings.Contains(body, `<option value="never" selected>`) {
		t.Error("without a default, \"Don't autodelete\" is not selected")
	}
	_, doc, raw = w.webUpload(w.csrf, nil, "small.png", png)
	near("web upload without a default", storedImage(t, h, doc, raw), 0)
}

// TestWebUploadErrorsTranslated: the page shows the pipeline's refusals in
// the visitor's language; the API keeps Chevereto's English.
func TestWebUploadErrorsTranslated(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{MaxUpload: 1000}})
	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	w.get("/")
	zh := []string{"Accept-Language", "zh-CN"}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"not an image", []byte("hello, this is text"), "无法读取上传文件的信息"},
		{"too big", bytes.Repeat([]byte{0}, 2000), "文件过大 - 最大 1 KB"},
	} {
		status, doc, raw := w.webUpload(w.csrf, nil, "x.png", tc.file, zh...)
		if status != 400 {
			t.Errorf("%s: %d %s", tc.name, status, raw)
			continue
		}
		if msg, _ := errorOf(t, doc, []byte(raw)); msg != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, msg, tc.want)
		}
	}
	status, doc, raw := w.webUpload(w.csrf, nil, "x.png", nil, zh...)
	if msg, _ := errorOf(t, doc, []byte(raw)); status != 400 || msg != "上传来源为空。" {
		t.Errorf("no file: %d %q", status, msg)
	}
	// Every message the page may show has its translation, and in English
	// it is the API's message.
	zhV, enV := &visitor{Lang: langZH}, &visitor{Lang: langEN}
	refusals := []error{&ingest.TooBigError{Limit: 25_000_000}, &ingest.TooManyPixelsError{Limit: 50_000_000},
		&ingest.URLSchemeError{Scheme: "ftp"}, ingest.ErrNoSpace, errors.New("unnamed")}
	for p := range ingest.Periods {
		refusals = append(refusals, &ingest.FloodError{Limit: 50, Period: ingest.Period(p)})
	}
	for _, r := range webRefusals {
		refusals = append(refusals, r.err)
	}
	for _, err := range refusals {
		api := chevereto.Describe(err, h.srv.log).Message
		if got := h.srv.webRefusal(zhV, err); got == api {
			t.Errorf("%q is not translated", api)
		}
		if got := h.srv.webRefusal(enV, err); got != api {
			t.Errorf("%v: the page says %q, the API %q", err, got, api)
		}
	}
	if m := h.srv.i18n.Missing(); len(m) > 0 {
		t.Errorf("missing translations: %q", m)
	}
}

// TestUploadPageTranslated renders the upload page in Chinese for a user
// and a guest and checks that no string it asked for lacks a translation.
func TestUploadPageTranslated(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{URLUploads: true}})
	mustAdmin(t, h)
	u, _ := h.store.UserByName("tester")
	if _, err := h.store.CreateAlbum(u.ID, "Holidays", "", store.PrivacyPublic, ""); err != nil {
		t.Fatal(err)
	}
	zh := []string{"Accept-Language", "zh-CN"}
	g := newWebClient(t, h)
	if _, body := g.get("/", zh...); !strings.Contains(body, "登录后上传") {
		t.Error("the guest page is not in Chinese")
	}
	setSite(t, h, func(s *site.Settings) { s.GuestUploads = true; s.DefaultExpiry = 3 * time.Hour })
	if _, body := g.get("/", zh...); !strings.Contains(body, "点击任意预览图可自定义上传") {
		t.Error("the guest upload page is not in Chinese")
	}
	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	_, body := w.get("/", zh...)
	for _, want := range []string{"上传图片", "添加图片链接", "新建相册", "3 小时后", "最大 25 MB", "JPG PNG GIF WEBP BMP"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Chinese upload page lacks %q", want)
		}
	}
	for _, d := range []time.Duration{5 * time.Minute, 90 * time.Minute, time.Hour, 24 * time.Hour, 14 * 24 * time.Hour, 60 * 24 * time.Hour, 365 * 24 * time.Hour, 730 * 24 * time.Hour} {
		h.srv.expiryLabel(&visitor{Lang: langZH}, d)
	}
	if m := h.srv.i18n.Missing(); len(m) > 0 {
		t.Errorf("missing translations: %q", m)
	}
}

// TestWebUploadFloodLimits: the API's per-address flood limits count web
// uploads too, guests' and users' alike (admins are exempt).
func TestWebUploadFloodLimits(t *testing.T) {
	h := newTestHost(t, Config{Site: site.Config{FloodLimits: &site.FloodLimits{2, 0, 0, 0, 0}}})
	mustAdmin(t, h)
	setSite(t, h, func(s *site.Settings) { s.GuestUploads = true })
	g := newWebClient(t, h)
	g.get("/")
	for i, name := range []string{"small.png", "photo.png"} {
		if status, _, raw := g.webUpload(g.csrf, nil, name, readTestdata(t, name)); status != 200 {
			t.Fatalf("guest upload %d: %d %s", i+1, status, raw)
		}
	}
	status, doc, raw := g.webUpload(g.csrf, nil, "small.jpg", readTestdata(t, "small.jpg"))
	if msg, _ := errorOf(t, doc, []byte(raw)); status != 400 || msg != "Flooding detected. You can only upload 2 images per minute" {
		t.Errorf("third guest upload in a minute: %d %q", status, msg)
	}
	// A user from the same address is counted with the guest.
	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	w.get("/")
	status, doc, raw = w.webUpload(w.csrf, nil, "small.jpg", readTestdata(t, "small.jpg"), "Accept-Language", "zh-CN")
	if msg, _ := errorOf(t, doc, []byte(raw)); status != 400 || msg != "上传过于频繁。每分钟最多只能上传 2 张图片" {
		t.Errorf("user upload from the flooded address: %d %q", status, msg)
	}
	a := newWebClient(t, h)
	a.login("admin", "adminpass1", false)
	a.get("/")
	if status, _, raw := a.webUpload(a.csrf, nil, "small.jpg", readTestdata(t, "small.jpg")); status != 200 {
		t.Errorf("admin upload from the flooded address: %d %s", status, raw)
	}
}
