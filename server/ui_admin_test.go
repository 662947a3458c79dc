package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// adminClient is a browser logged in as the admin of mustAdmin.
func adminClient(t *testing.T, h *testHost) *webClient {
	t.Helper()
	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.login("admin", "adminpass1", false)
	return w
}

// goodSettings is a settings form that passes.
func goodSettings() url.Values {
	return url.Values{
		"site_name": {"Pics"}, "max_upload_mb": {"25"}, "exif": {"strip"}, "duplicates": {"reuse"},
		"default_expiry": {""}, "image_base_url": {""},
	}
}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

func userID(t *testing.T, h *testHost, name string) uint64 {
	t.Helper()
	u, err := h.store.UserByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestAdminRoutesRefuseOthers(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	adminID := userID(t, h, "admin")
	testerID := userID(t, h, "tester")
	gets := []string{"/admin", "/admin/users"}
	posts := []struct {
		path string
		vals url.Values
	}{
		{"/admin", with(goodSettings(), "signups", "1")},
		{"/admin/users", url.Values{"username": {"mallory"}, "password": {"secret123"}, "admin": {"1"}}},
		{fmt.Sprintf("/admin/users/%d/disabled", adminID), url.Values{"disabled": {"1"}}},
		{fmt.Sprintf("/admin/users/%d/admin", testerID), url.Values{"admin": {"1"}}},
		{fmt.Sprintf("/admin/users/%d/admin", adminID), url.Values{"admin": {"0"}}},
		{fmt.Sprintf("/admin/users/%d/delete", adminID), url.Values{"images": {"delete"}}},
		{fmt.Sprintf("/admin/users/%d/password", adminID), url.Values{"password": {"taken-over"}}},
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if _, saved, _ := h.store.Settings(); saved || h.srv.site.Settings().Signups {
			t.Fatal("settings changed by a refused request")
		}
		a, err := h.store.User(adminID)
		if err != nil || !a.Admin || a.Disabled {
			t.Fatalf("admin changed by a refused request: %+v %v", a, err)
		}
		if u, _ := h.store.User(testerID); u.Admin {
			t.Fatal("tester made admin by a refused request")
		}
		if _, err := h.store.UserByName("mallory"); err == nil {
			t.Fatal("user added by a refused request")
		}
		if _, err := h.store.CheckPassword("admin", "taken-over"); err == nil {
			t.Fatal("admin password set by a refused request")
		}
	}

	t.Run("users get 403", func(t *testing.T) {
		w := newWebClient(t, h)
		w.login("tester", "password1", false)
		for _, p := range gets {
			if resp, body := w.get(p); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Only administrators can do this.") {
				t.Errorf("GET %s as a user: %d", p, resp.StatusCode)
			}
		}
		w.get("/account") // a valid token: the refusal is the admin check, not CSRF
		for _, p := range posts {
			if resp, body := w.post(p.path, with(p.vals)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Only administrators can do this.") {
				t.Errorf("POST %s as a user: %d", p.path, resp.StatusCode)
			}
		}
		unchanged(t)
	})
	t.Run("guests are sent to log in", func(t *testing.T) {
		w := newWebClient(t, h)
		for _, p := range gets {
			if resp, _ := w.get(p); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(resp), "/login?next=") {
				t.Errorf("GET %s as a guest: %d to %q", p, resp.StatusCode, location(resp))
			}
		}
		w.get("/login")
		for _, p := range posts {
			if resp, _ := w.post(p.path, with(p.vals)); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST %s as a guest: %d, want 401", p.path, resp.StatusCode)
			}
		}
		unchanged(t)
	})
	t.Run("admins need the CSRF token", func(t *testing.T) {
		w := newWebClient(t, h)
		w.login("admin", "adminpass1", false)
		for _, p := range posts {
			if resp, _ := w.post(p.path, with(p.vals, "csrf", strings.Repeat("0", 40))); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s without the token: %d, want 403", p.path, resp.StatusCode)
			}
		}
		unchanged(t)
	})
}

func TestAdminSettingsRefusedKeepOldValues(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{MaxUpload: 5_000_000}})
	w := adminClient(t, h)
	resp, body := w.get("/admin")
	if resp.StatusCode != 200 || !strings.Contains(body, "Not saved yet") || !strings.Contains(body, `name="max_upload_mb" value="5"`) {
		t.Fatalf("GET /admin before any save: %d, flags not shown as the values in force", resp.StatusCode)
	}
	before := *h.srv.site.Settings()
	for _, tc := range []struct {
		name, field, value, msg string
	}{
		{"empty site name", "site_name", "  ", "Enter a site name."},
		{"site name too long", "site_name", strings.Repeat("x", store.MaxSiteNameLen+1), "The site name must be at most 100 bytes"},
		{"site name with a control character", "site_name", "Pics\x07", "without control characters"},
		{"size not a number", "max_upload_mb", "lots", "The maximum upload size must be a number of MB from 0.01 to 2147."},
		{"size zero", "max_upload_mb", "0", "The maximum upload size must be"},
		{"size beyond 2 GiB", "max_upload_mb", "3000", "The maximum upload size must be"},
		{"size NaN", "max_upload_mb", "NaN", "The maximum upload size must be"},
		{"unknown EXIF policy", "exif", "maybe", "Choose what happens to the EXIF data of photos."},
		{"unknown duplicates policy", "duplicates", "merge", "Choose what happens to duplicate uploads."},
		{"auto-delete not in the list", "default_expiry", "P99Y", "Choose a default auto-delete time from the list."},
		{"auto-delete in seconds", "default_expiry", "3600", "Choose a default auto-delete time from the list."},
		{"image base URL not http", "image_base_url", "ftp://cdn.example/img", "The image base URL must be"},
		{"image base URL relative", "image_base_url", "/images", "The image base URL must be"},
		{"image base URL with a query", "image_base_url", "https://cdn.example/img?x=1", "The image base URL must be"},
		{"image base URL with a fragment", "image_base_url", "https://cdn.example/img#top", "The image base URL must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := with(goodSettings(), "site_name", "Changed name", "signups", "1", "max_upload_mb", "7.5", tc.field, tc.value)
			resp, body := w.post("/admin", form)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
				t.Fatalf("status %d, want 400 with %q", resp.StatusCode, tc.msg)
			}
			// The form comes back as sent.
			if tc.field != "site_name" && !strings.Contains(body, `value="Changed name"`) {
				t.Error("the refused form lost the site name typed")
			}
			if tc.field != "max_upload_mb" && !strings.Contains(body, `value="7.5"`) {
				t.Error("the refused form lost the size typed")
			}
			if !regexp.MustCompile(`name="signups" value="1" checked`).MatchString(body) {
				t.Error("the refused form lost the sign-ups box")
			}
			// Nothing saved, nothing published.
			if _, saved, _ := h.store.Settings(); saved {
				t.Error("refused settings were saved")
			}
			if *h.srv.site.Settings() != before {
				t.Errorf("settings in force changed: %+v", *h.srv.site.Settings())
			}
		})
	}
}

func TestAdminSettingsApplyAtOnce(t *testing.T) {
	h := newTestHost(t, Config{})
	w := adminClient(t, h)
	w.get("/admin")

	// Before: the flags' defaults.
	if resp, _ := newWebClient(t, h).get("/signup"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /signup with sign-ups off: %d", resp.StatusCode)
	}
	if status, msg := apiUpload(t, h, h.key, "photo.jpg"); status != 200 {
		t.Fatalf("upload before: %d %s", status, msg)
	}
	urlSource := map[string]string{"source": "http://127.0.0.1:1/x.png"}
	if _, doc, raw := h.post(t, urlSource, "", nil, nil); doc["error"] == nil {
		t.Fatalf("URL upload while off: %s", raw)
	} else if msg, _ := errorOf(t, doc, raw); msg != "URL uploading is forbidden" {
		t.Fatalf("URL upload while off: %q", msg)
	}

	form := with(goodSettings(), "site_name", "Pics 图床", "max_upload_mb", "0.1", "signups", "1", "url_uploads", "1",
		"guest_uploads", "1", "exif", "keep", "duplicates", "reject", "default_expiry", "P3D",
		"image_base_url", "https://cdn.example/img/")
	resp, _ := w.post("/admin", form)
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/admin?done=saved" {
		t.Fatalf("save: %d to %q", resp.StatusCode, location(resp))
	}
	want := site.Settings{
		SiteName: "Pics 图床", GuestUploads: true, Signups: true, URLUploads: true, MaxUpload: 100_000,
		EXIF: ingest.KeepEXIF, Duplicates: ingest.DuplicatesReject, DefaultExpiry: 72 * time.Hour,
		ImageBaseURL: "https://cdn.example/img",
	}
	if got := *h.srv.site.Settings(); got != want {
		t.Fatalf("settings in force\n got %+v\nwant %+v", got, want)
	}
	if saved, ok, _ := h.store.Settings(); !ok || saved.MaxUpload != 100_000 || saved.Duplicates != "reject" {
		t.Fatalf("stored settings %+v, %v", saved, ok)
	}
	_, body := w.get("/admin?done=saved")
	for _, s := range []string{"The settings were saved.", "These settings were saved here", "<title>Site settings · Pics 图床</title>", `<option value="P3D" selected>`} {
		if !strings.Contains(body, s) {
			t.Errorf("settings page after save lacks %q", s)
		}
	}

	// The API reads the new settings on its next request.
	if status, msg := apiUpload(t, h, h.key, "photo.jpg"); status != http.StatusBadRequest || msg != "File too big - max 100 KB" {
		t.Errorf("upload over the new limit: %d %q", status, msg)
	}
	if _, doc, raw := h.post(t, urlSource, "", nil, nil); doc["error"] != nil {
		if msg, _ := errorOf(t, doc, raw); msg == "URL uploading is forbidden" {
			t.Error("URL uploads still forbidden after turning them on")
		}
	}
	if resp, _ := newWebClient(t, h).get("/signup"); resp.StatusCode != 200 {
		t.Errorf("GET /signup with sign-ups on: %d", resp.StatusCode)
	}
	status, doc, raw := h.post(t, nil, "small.png", readTestdata(t, "small.png"), nil)
	if status != 200 {
		t.Fatalf("small upload: %d %s", status, raw)
	}
	img := imageOf(t, doc, raw)
	if u, _ := img["url"].(string); !strings.HasPrefix(u, "https://cdn.example/img/") {
		t.Errorf("image URL %q does not use the new image base URL", u)
	}
	if e, _ := img["expiration_date_gmt"].(string); e == "" {
		t.Error("the default auto-delete did not apply to an API upload without expiration")
	}

	// Saved settings win over the flags at the next start.
	again, err := site.New(site.Config{}, h.store, nil, nil, site.Settings{MaxUpload: 9_000_000, URLUploads: false, EXIF: ingest.StripEXIF}, slog.New(slog.DiscardHandler), time.Now)
	if err != nil || *again.Settings() != want {
		t.Errorf("settings after a restart with other flags: %+v, %v", again.Settings(), err)
	}

	// Turning things off again works the same way.
	resp, _ = w.post("/admin", goodSettings())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second save: %d", resp.StatusCode)
	}
	if resp, _ := newWebClient(t, h).get("/signup"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /signup after turning sign-ups off: %d", resp.StatusCode)
	}
	if _, doc, raw := h.post(t, urlSource, "", nil, nil); doc["error"] == nil {
		t.Error("URL upload accepted after turning URL uploads off")
	} else if msg, _ := errorOf(t, doc, raw); msg != "URL uploading is forbidden" {
		t.Errorf("URL upload after turning it off: %q", msg)
	}
	if h.srv.site.Settings().DefaultExpiry != 0 {
		t.Error("default auto-delete not back to never")
	}
}

// userRow returns the users table row of name.
func userRow(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr data-user="` + regexp.QuoteMeta(name) + `">.*?</tr>`).FindString(body)
	if m == "" {
		t.Fatalf("no row for %s in the users table", name)
	}
	return m
}

func TestAdminUsers(t *testing.T) {
	h := newTestHost(t, Config{})
	w := adminClient(t, h)
	_, body := w.get("/admin/users")
	userRow(t, body, "tester")
	if row := userRow(t, body, "admin"); !strings.Contains(row, "admin@example.test") || !strings.Contains(row, "Administrator") || strings.Contains(row, "/delete") {
		t.Errorf("admin's own row: %s", row)
	}

	// Add: refusals come back readable, with the form filled in.
	for _, tc := range []struct {
		vals   url.Values
		status int
		msg    string
	}{
		{url.Values{"username": {"x"}, "password": {"secret123"}}, 400, "The user name must be 3 to 32 letters"},
		{url.Values{"username": {"bob"}, "password": {"123"}}, 400, "The password must be 6 to 128 characters."},
		{url.Values{"username": {"bob"}, "email": {"nope"}, "password": {"secret123"}}, 400, "That e-mail address does not look right."},
		{url.Values{"username": {"Tester"}, "password": {"secret123"}}, 409, "That user name is taken."},
		{url.Values{"username": {"bob"}, "email": {"ADMIN@example.test"}, "password": {"secret123"}}, 409, "already used by another account"},
	} {
		resp, body := w.post("/admin/users", tc.vals)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("add %v: %d, want %d with %q", tc.vals, resp.StatusCode, tc.status, tc.msg)
		}
		if !strings.Contains(body, `value="`+tc.vals.Get("username")+`"`) {
			t.Errorf("add %v: the form lost the name", tc.vals)
		}
	}
	resp, _ := w.post("/admin/users", url.Values{"username": {"bob"}, "email": {"Bob@Example.test"}, "password": {"secret123"}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/admin/users?done=added" {
		t.Fatalf("add bob: %d to %q", resp.StatusCode, location(resp))
	}
	_, body = w.get("/admin/users?done=added")
	if row := userRow(t, body, "bob"); !strings.Contains(row, "bob@example.test") || !strings.Contains(row, "Active") {
		t.Errorf("bob's row: %s", row)
	}
	bobID := userID(t, h, "bob")
	bob := newWebClient(t, h)
	bob.login("bob", "secret123", false)
	bobKey, _, err := h.store.CreateAPIKey(bobID)
	if err != nil {
		t.Fatal(err)
	}

	// Disable: logged out, key refused, no login; enable: back.
	resp, _ = w.post(fmt.Sprintf("/admin/users/%d/disabled", bobID), url.Values{"disabled": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if resp, _ := bob.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Error("a disabled user's session still works")
	}
	if status, msg := apiUpload(t, h, bobKey, "small.png"); status != 400 || msg != "Invalid API v1 key." {
		t.Errorf("a disabled user's key: %d %q", status, msg)
	}
	_, body = w.get("/admin/users")
	if row := userRow(t, body, "bob"); !strings.Contains(row, "Disabled") || !strings.Contains(row, `data-action="enable"`) {
		t.Errorf("disabled bob's row: %s", row)
	}
	w.post(fmt.Sprintf("/admin/users/%d/disabled", bobID), url.Values{"disabled": {"0"}})
	bob.login("bob", "secret123", false)
	if status, _ := apiUpload(t, h, bobKey, "small.png"); status != 200 {
		t.Error("an enabled user's key is refused")
	}

	// Admin rights, and the last enabled admin.
	adminID := userID(t, h, "admin")
	w.get("/admin/users")
	if resp, body := w.post(fmt.Sprintf("/admin/users/%d/admin", adminID), url.Values{"admin": {"0"}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, "There must always be at least one enabled administrator") {
		t.Errorf("removing the last admin: %d", resp.StatusCode)
	}
	if resp, _ := w.post(fmt.Sprintf("/admin/users/%d/admin", bobID), url.Values{"admin": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("make bob admin: %d", resp.StatusCode)
	}
	if resp, _ := bob.get("/admin"); resp.StatusCode != 200 {
		t.Errorf("bob as admin: GET /admin %d", resp.StatusCode)
	}
	// With bob disabled, admin is the last enabled admin again.
	w.post(fmt.Sprintf("/admin/users/%d/disabled", bobID), url.Values{"disabled": {"1"}})
	if resp, _ := w.post(fmt.Sprintf("/admin/users/%d/admin", adminID), url.Values{"admin": {"0"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("removing the last enabled admin: %d, want 409", resp.StatusCode)
	}
	if u, _ := h.store.User(adminID); !u.Admin {
		t.Fatal("the last enabled admin lost the rights")
	}
	w.post(fmt.Sprintf("/admin/users/%d/disabled", bobID), url.Values{"disabled": {"0"}})
	bob.login("bob", "secret123", false) // disabling ended bob's sessions
	// An admin may step down while another admin remains, and lands on
	// the home page.
	_, body = bob.get("/admin/users")
	if !strings.Contains(userRow(t, body, "bob"), "Remove your own administrator rights?") {
		t.Error("stepping down does not ask first")
	}
	if resp, _ := bob.post(fmt.Sprintf("/admin/users/%d/admin", bobID), url.Values{"admin": {"0"}}); resp.StatusCode != http.StatusSeeOther || location(resp) != "/" {
		t.Errorf("bob stepping down: %d to %q", resp.StatusCode, location(resp))
	}
	if resp, _ := bob.get("/admin"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob after losing admin: GET /admin %d", resp.StatusCode)
	}

	// No disabling or deleting oneself here.
	for _, p := range []struct {
		path string
		vals url.Values
	}{
		{fmt.Sprintf("/admin/users/%d/disabled", adminID), url.Values{"disabled": {"1"}}},
		{fmt.Sprintf("/admin/users/%d/delete", adminID), url.Values{"images": {"keep"}}},
	} {
		if resp, body := w.post(p.path, p.vals); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "You cannot disable or delete your own account here.") {
			t.Errorf("POST %s on oneself: %d", p.path, resp.StatusCode)
		}
	}
	if u, err := h.store.User(adminID); err != nil || u.Disabled {
		t.Fatalf("admin after refused self-actions: %+v %v", u, err)
	}
	// Unknown users and bad ids are 404.
	for _, p := range []string{"/admin/users/999/disabled", "/admin/users/abc/admin", "/admin/users/-1/delete"} {
		if resp, _ := w.post(p, url.Values{"disabled": {"1"}, "admin": {"1"}, "images": {"keep"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestAdminDeleteUser(t *testing.T) {
	h := newTestHost(t, Config{})
	w := adminClient(t, h)
	upload := func(key, file string) (string, uint64) {
		t.Helper()
		status, doc, raw := h.post(t, map[string]string{"key": key}, file, readTestdata(t, file), nil)
		if status != 200 {
			t.Fatalf("upload: %s", raw)
		}
		img := imageOf(t, doc, raw)
		id, _ := h.store.DecodeID(img["id_encoded"].(string))
		u := img["url"].(string)
		if resp, err := http.Get(u); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", u, resp, err)
		} else {
			resp.Body.Close() // now in the file cache
		}
		return u, id
	}
	mk := func(name string) (uint64, string) {
		u, err := h.store.CreateUser(name, "password1", false)
		if err != nil {
			t.Fatal(err)
		}
		key, _, _ := h.store.CreateAPIKey(u.ID)
		return u.ID, key
	}
	carolID, carolKey := mk("carol")
	daveID, daveKey := mk("dave")
	carolURL, carolImg := upload(carolKey, "small.png")
	upload(carolKey, "small.jpg")
	daveURL, daveImg := upload(daveKey, "photo.png")
	upload(daveKey, "anim.gif")
	upload(daveKey, "small.jpg")

	_, body := w.get("/admin/users")
	if row := userRow(t, body, "dave"); !regexp.MustCompile(`<td class="num"[^>]*>3</td>`).MatchString(row) ||
		!strings.Contains(row, "Delete dave and their 3 images? This cannot be undone.") {
		t.Errorf("dave's row lacks the image count or the confirmation: %s", row)
	}
	if row := userRow(t, body, "carol"); !regexp.MustCompile(`<td class="num"[^>]*>2</td>`).MatchString(row) {
		t.Errorf("carol's row: %s", row)
	}

	// The choice is required.
	if resp, _ := w.post(fmt.Sprintf("/admin/users/%d/delete", carolID), nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("delete without choosing: %d", resp.StatusCode)
	}
	if _, err := h.store.User(carolID); err != nil {
		t.Fatal("deleted without a choice")
	}

	// Keep images: they stay, as guest images.
	resp, _ := w.post(fmt.Sprintf("/admin/users/%d/delete", carolID), url.Values{"images": {"keep"}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/admin/users?done=deleted" {
		t.Fatalf("delete carol: %d to %q", resp.StatusCode, location(resp))
	}
	if _, err := h.store.User(carolID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("carol still exists: %v", err)
	}
	if img, err := h.store.Image(carolImg); err != nil || img.OwnerID != 0 {
		t.Errorf("carol's image after delete-keep: %+v %v", img, err)
	}
	if r, err := http.Get(carolURL); err != nil || r.StatusCode != 200 {
		t.Errorf("carol's image no longer served: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	if status, msg := apiUpload(t, h, carolKey, "photo.png"); status != 400 || msg != "Invalid API v1 key." {
		t.Errorf("deleted user's key: %d %q", status, msg)
	}

	// Delete images: records and files go, and the file cache forgets them.
	resp, _ = w.post(fmt.Sprintf("/admin/users/%d/delete", daveID), url.Values{"images": {"delete"}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/admin/users?done=deleted-images" {
		t.Fatalf("delete dave: %d to %q", resp.StatusCode, location(resp))
	}
	if _, err := h.store.Image(daveImg); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dave's image record: %v", err)
	}
	if n, _ := h.store.CountImages(daveID); n != 0 {
		t.Errorf("dave still has %d images", n)
	}
	if r, err := http.Get(daveURL); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("dave's image after delete: %v %v, want 404", r, err)
	} else {
		r.Body.Close()
	}
	_, body = w.get("/admin/users?done=deleted-images")
	if !strings.Contains(body, "The user and their images were deleted.") || strings.Contains(body, `data-user="dave"`) {
		t.Error("users page after deleting dave")
	}
}

// TestAdminSetsPassword covers the forgotten-password path: an admin sets
// a user's password, the user's sessions end, the old password stops
// working and the new one works; their API key is untouched. An admin's
// own password is changed on the account page only.
func TestAdminSetsPassword(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	testerID := userID(t, h, "tester")
	tester := newWebClient(t, h)
	tester.login("tester", "password1", true)

	w := newWebClient(t, h)
	w.login("admin", "adminpass1", false)
	w.get("/admin/users")
	if resp, body := w.post(fmt.Sprintf("/admin/users/%d/password", testerID), url.Values{"password": {"abc"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "The password must be 6 to 128 characters.") {
		t.Fatalf("too short a password: %d", resp.StatusCode)
	}
	resp, _ := w.post(fmt.Sprintf("/admin/users/%d/password", testerID), url.Values{"password": {"brand-new-1"}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/admin/users?done=password" {
		t.Fatalf("set password: %d to %q", resp.StatusCode, location(resp))
	}
	if resp, _ := tester.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the user's session outlived the new password: %d", resp.StatusCode)
	}
	if _, err := h.store.CheckPassword("tester", "password1"); err == nil {
		t.Fatal("the old password still works")
	}
	newWebClient(t, h).login("tester", "brand-new-1", false)
	if status, _, raw := h.post(t, nil, "small.png", readTestdata(t, "small.png"), nil); status != http.StatusOK {
		t.Fatalf("the API key stopped working: %d %s", status, raw)
	}
	adminID := userID(t, h, "admin")
	if resp, body := w.post(fmt.Sprintf("/admin/users/%d/password", adminID), url.Values{"password": {"another-1"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "Change your own password on your account page.") {
		t.Fatalf("own password through the admin page: %d", resp.StatusCode)
	}
	if resp, _ := w.post("/admin/users/999/password", url.Values{"password": {"another-1"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
}

// TestSavedSettingsNameTheFlagsTheyOverride: once the settings page is
// saved, the flags it overrides are named at start (a warning naming the
// flag, its value and the saved value in force) and on the page. Before,
// they were ignored without a word.
func TestSavedSettingsNameTheFlagsTheyOverride(t *testing.T) {
	flags := Config{
		Site:     site.Config{SettingsGiven: []string{"--max-upload", "--exif", "--duplicates"}},
		Settings: site.Settings{MaxUpload: 10_000_000, EXIF: ingest.KeepEXIF, Duplicates: ingest.DuplicatesReuse},
	}
	h := newTestHost(t, flags)
	w := adminClient(t, h)
	if _, body := w.get("/admin"); strings.Contains(body, `id="ignored-flags"`) {
		t.Error("flags listed as overridden before the page was ever saved")
	}
	// The saved page keeps --duplicates' value: only the other two differ.
	if resp, _ := w.post("/admin", goodSettings()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	_, body := w.get("/admin")
	for _, want := range []string{`<code>--max-upload</code> asked for 10 MB; in force: 25 MB`, `<code>--exif</code> asked for keep; in force: strip`} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if strings.Contains(body, "<code>--duplicates</code>") {
		t.Error("--duplicates listed although the saved value is the same")
	}

	// The next start with the same flags says so in its log.
	var logged bytes.Buffer
	if _, err := New(flags, Deps{Store: h.store, UI: os.DirFS("../ui"), Log: slog.New(slog.NewTextHandler(&logged, nil))}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`level=WARN msg="flag ignored: the saved settings page wins; change the setting there" flag=--max-upload value="10 MB" saved="25 MB"`, `flag=--exif value=keep saved=strip`} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("start-up log lacks %q:\n%s", want, logged.String())
		}
	}
}
