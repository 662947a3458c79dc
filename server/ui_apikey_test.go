package server

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"picbed/store"
)

var (
	shownKey      = regexp.MustCompile(`value="(pb_[0-9a-f]{40})"[^>]*data-api-key`)
	anyKey        = regexp.MustCompile(`pb_[0-9a-f]{40}`)
	keyPageNotice = "Store the API key in a secure location as it will be shown just once."
)

// textareaJSON decodes the JSON shown in the page's textarea with this id
// into v.
func textareaJSON(t *testing.T, body, id string, v any) {
	t.Helper()
	m := regexp.MustCompile(`(?s)<textarea id="` + id + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no textarea %q on the page", id)
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), v); err != nil {
		t.Fatalf("textarea %q is not JSON: %v\n%s", id, err, m[1])
	}
}

// keylessUser makes a user without an API key and a browser logged in as them.
func keylessUser(t *testing.T, h *testHost, name string) (*webClient, store.User) {
	t.Helper()
	u, err := h.store.CreateUser(name, "password1", false)
	if err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, h)
	w.login(name, "password1", false)
	return w, u
}

// apiUpload posts photo.png to the API with key and returns the status and
// the error message, "" on success.
func apiUpload(t *testing.T, h *testHost, key string, file string) (int, string) {
	t.Helper()
	status, doc, raw := h.post(t, map[string]string{"key": key}, file, readTestdata(t, file), nil)
	if status == 200 {
		imageOf(t, doc, raw)
		return status, ""
	}
	msg, _ := errorOf(t, doc, raw)
	return status, msg
}

func TestAPIKeyPageShowsTheKeyOnce(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)

	// Guests are sent to the login page.
	if resp, _ := newWebClient(t, h).get("/settings/api"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(resp), "/login?next=") {
		t.Fatalf("guest: %d to %q", resp.StatusCode, location(resp))
	}

	w, u := keylessUser(t, h, "alice")
	resp, body := w.get("/settings/api")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /settings/api: %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	m := shownKey.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, keyPageNotice) {
		t.Fatalf("first visit does not show a new key with the notice:\n%s", body)
	}
	key := m[1]
	keys, _ := h.store.APIKeys(u.ID)
	if len(keys) != 1 || !strings.HasPrefix(key, keys[0].Prefix) {
		t.Fatalf("store has %+v for shown key %s", keys, key)
	}
	if status, msg := apiUpload(t, h, key, "small.png"); status != 200 {
		t.Fatalf("upload with the shown key: %d %s", status, msg)
	}
	// The client snippets carry the key while it is shown.
	picgo := picgoOf(t, body)
	if picgo.PicBed.Chevereto.Key != key || picgo.PicBed.Chevereto.URL != h.http.URL+"/api/1/upload" {
		t.Errorf("PicGo config %+v", picgo.PicBed.Chevereto)
	}
	if !strings.Contains(body, `X-API-Key: `+key) {
		t.Error("the curl example lacks the key")
	}

	// Afterwards: the prefix and dates only, nowhere the key, and no new key.
	resp, body = w.get("/settings/api")
	if resp.StatusCode != 200 {
		t.Fatalf("second visit: %d", resp.StatusCode)
	}
	if strings.Contains(body, key) || anyKey.MatchString(body) || strings.Contains(body, keyPageNotice) {
		t.Fatal("the key is shown a second time")
	}
	if !strings.Contains(body, keys[0].Prefix+"…") {
		t.Errorf("second visit does not show the prefix %s…", keys[0].Prefix)
	}
	if !strings.Contains(body, "Last used") || strings.Contains(body, `data-sharex`) {
		t.Error("second visit: no dates, or a ShareX download without the key")
	}
	if picgoOf(t, body).PicBed.Chevereto.Key != keyPlaceholder {
		t.Error("PicGo config without the key does not hold the placeholder")
	}
	if again, _ := h.store.APIKeys(u.ID); len(again) != 1 || again[0].ID != keys[0].ID {
		t.Errorf("keys after the second visit: %+v", again)
	}
	if status, _ := apiUpload(t, h, key, "small.jpg"); status != 200 {
		t.Error("the key stopped working after the second visit")
	}
}

type picgoFile struct {
	PicBed struct {
		Current   string `json:"current"`
		Chevereto struct {
			URL string `json:"url"`
			Key string `json:"key"`
		} `json:"chevereto"`
		Web struct {
			URL        string `json:"url"`
			ParamName  string `json:"paramName"`
			JSONPath   string `json:"jsonPath"`
			CustomBody string `json:"customBody"`
		} `json:"web-uploader"`
	} `json:"picBed"`
	Plugins map[string]bool `json:"picgoPlugins"`
}

func picgoOf(t *testing.T, body string) picgoFile {
	t.Helper()
	var f picgoFile
	textareaJSON(t, body, "picgo-config", &f)
	if !f.Plugins["picgo-plugin-chevereto"] || f.PicBed.Current != "chevereto" {
		t.Errorf("PicGo config does not select the chevereto plugin: %+v", f)
	}
	return f
}

func TestAPIKeyRegenerate(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	w, u := keylessUser(t, h, "alice")
	_, body := w.get("/settings/api")
	old := shownKey.FindStringSubmatch(body)[1]
	if !strings.Contains(body, `data-confirm="Are you sure that you want to revoke the existing API key?"`) {
		t.Error("the regenerate form does not ask first")
	}

	// Without the CSRF token nothing happens.
	resp, _ := w.post("/settings/api/regenerate", url.Values{"csrf": {"bad"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("regenerate without token: %d", resp.StatusCode)
	}
	if status, _ := apiUpload(t, h, old, "small.png"); status != 200 {
		t.Fatal("a refused regenerate revoked the key")
	}

	w.get("/settings/api")
	resp, body = w.post("/settings/api/regenerate", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("regenerate: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	m := shownKey.FindStringSubmatch(body)
	if m == nil || m[1] == old || !strings.Contains(body, keyPageNotice) {
		t.Fatal("regenerate does not show a new key")
	}
	fresh := m[1]
	status, msg := apiUpload(t, h, old, "small.png")
	if status != http.StatusBadRequest || msg != "Invalid API v1 key." {
		t.Errorf("old key after regenerate: %d %q, want 400 Invalid API v1 key.", status, msg)
	}
	if status, msg := apiUpload(t, h, fresh, "small.png"); status != 200 {
		t.Errorf("new key: %d %s", status, msg)
	}
	if keys, _ := h.store.APIKeys(u.ID); len(keys) != 1 {
		t.Errorf("%d keys after regenerate, want 1", len(keys))
	}
	// Someone else's key is untouched.
	if status, _ := apiUpload(t, h, h.key, "photo.png"); status != 200 {
		t.Error("regenerate revoked another user's key")
	}
}

// sxcuFile is the part of a ShareX custom uploader the test reads.
type sxcuFile struct {
	Version, Name, DestinationType, RequestMethod, RequestURL, Body, FileFormName string
	Arguments                                                                     map[string]string
	Headers                                                                       map[string]string
	URL, ThumbnailURL, DeletionURL, ErrorMessage                                  string
}

func TestShareXDownload(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	w, _ := keylessUser(t, h, "alice")
	_, body := w.get("/settings/api")
	key := shownKey.FindStringSubmatch(body)[1]
	if !strings.Contains(body, `action="/settings/api/sharex"`) {
		t.Fatal("no ShareX download on the page that shows the key")
	}

	resp, raw := w.post("/settings/api/sharex", url.Values{"key": {key}})
	if resp.StatusCode != 200 {
		t.Fatalf("sxcu: %d %s", resp.StatusCode, raw)
	}
	host := strings.TrimPrefix(h.http.URL, "http://")
	wantName := `attachment; filename="` + strings.ReplaceAll(host, ":", "-") + `.sxcu"`
	if cd := resp.Header.Get("Content-Disposition"); cd != wantName {
		t.Errorf("Content-Disposition %q, want %q", cd, wantName)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	var f sxcuFile
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatalf("sxcu is not JSON: %v\n%s", err, raw)
	}
	want := sxcuFile{
		Version: sxcuVersion, Name: "picbed (" + host + ")", DestinationType: "ImageUploader, FileUploader",
		RequestMethod: "POST", RequestURL: h.http.URL + "/api/1/upload", Body: "MultipartFormData", FileFormName: "source",
		URL: "{json:image.url}", ThumbnailURL: "{json:image.thumb.url}", DeletionURL: "{json:image.delete_url}",
		ErrorMessage: "{json:error.message}",
	}
	got := f
	got.Arguments = nil
	if got.Version != want.Version || got.Name != want.Name || got.DestinationType != want.DestinationType ||
		got.RequestMethod != want.RequestMethod || got.RequestURL != want.RequestURL || got.Body != want.Body ||
		got.FileFormName != want.FileFormName || got.URL != want.URL || got.ThumbnailURL != want.ThumbnailURL ||
		got.DeletionURL != want.DeletionURL || got.ErrorMessage != want.ErrorMessage || got.Headers != nil {
		t.Errorf("sxcu\n got %+v\nwant %+v", got, want)
	}
	if f.Arguments["key"] != key || f.Arguments["format"] != "json" || len(f.Arguments) != 2 {
		t.Errorf("sxcu arguments %v", f.Arguments)
	}

	// What ShareX does with the file: the arguments as fields, the file as
	// FileFormName, then {json:image.url} and friends from the answer.
	doc := shareXUpload(t, f, "photo.png", readTestdata(t, "photo.png"))
	img, _ := doc["image"].(map[string]any)
	thumb, _ := img["thumb"].(map[string]any)
	for name, u := range map[string]any{"url": img["url"], "thumb.url": thumb["url"], "delete_url": img["delete_url"]} {
		s, _ := u.(string)
		if !strings.HasPrefix(s, h.http.URL+"/") {
			t.Errorf("image.%s = %v", name, u)
		}
	}
	if r, err := http.Get(img["url"].(string)); err != nil || r.StatusCode != 200 {
		t.Errorf("image.url does not serve the image: %v %v", err, r)
	} else {
		r.Body.Close()
	}
	bad := f
	bad.Arguments = map[string]string{"key": "pb_" + strings.Repeat("0", 40), "format": "json"}
	if doc := shareXUpload(t, bad, "photo.png", readTestdata(t, "photo.png")); doc["error"].(map[string]any)["message"] != "Invalid API v1 key." {
		t.Errorf("ErrorMessage path {json:error.message}: %v", doc)
	}

	// Only the visitor's live key, only by POST with the token.
	for _, k := range []string{"", "nonsense", h.key, "pb_" + strings.Repeat("a", 40)} {
		if resp, _ := w.post("/settings/api/sharex", url.Values{"key": {k}}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("sxcu for key %q: %d, want 400", k, resp.StatusCode)
		}
	}
	if resp, _ := w.post("/settings/api/sharex", url.Values{"key": {key}, "csrf": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sxcu without CSRF token: %d", resp.StatusCode)
	}
	if resp, _ := w.get("/settings/api/sharex?key=" + key); resp.StatusCode == http.StatusOK {
		t.Errorf("GET sxcu: %d, want a refusal", resp.StatusCode)
	}
	w.get("/settings/api")
	w.post("/settings/api/regenerate", nil)
	if resp, _ := w.post("/settings/api/sharex", url.Values{"key": {key}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("sxcu for a revoked key: %d, want 400", resp.StatusCode)
	}
}

// shareXUpload sends the request ShareX makes from f and returns the
// decoded answer.
func shareXUpload(t *testing.T, f sxcuFile, name string, data []byte) map[string]any {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range f.Arguments {
		mw.WriteField(k, v)
	}
	part, _ := mw.CreateFormFile(f.FileFormName, name)
	part.Write(data)
	mw.Close()
	req, _ := http.NewRequest(f.RequestMethod, f.RequestURL, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", "ShareX/17.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("answer to ShareX is not JSON: %s", raw)
	}
	return doc
}

func TestWebUploaderSnippetMatchesTheClient(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	w, _ := keylessUser(t, h, "alice")
	_, body := w.get("/settings/api")
	key := shownKey.FindStringSubmatch(body)[1]
	var f picgoFile
	textareaJSON(t, body, "webup-config", &f)
	web := f.PicBed.Web
	var custom map[string]string
	if err := json.Unmarshal([]byte(web.CustomBody), &custom); err != nil {
		t.Fatalf("customBody %q is not a JSON object: %v", web.CustomBody, err)
	}
	if web.URL != h.http.URL+"/api/1/upload" || web.ParamName != "source" || web.JSONPath != "image.url" ||
		custom["key"] != key || custom["format"] != "json" || !f.Plugins["picgo-plugin-web-uploader"] {
		t.Errorf("web-uploader config %+v, body %v", f, custom)
	}
}
