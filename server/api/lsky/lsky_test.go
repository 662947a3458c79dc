package lsky_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"picbed/server"
	"picbed/server/site"
	"picbed/store"
)

// host is a real picbed server on loopback over a fresh data dir, with two
// users, alice (e-mail alice@example.test) and bob, each with an API key.
type host struct {
	url      string
	st       *store.Store
	alice    store.User
	bob      store.User
	aliceKey string
	bobKey   string
}

func newHost(t *testing.T, cfg server.Config) *host {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(t.TempDir(), store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(cfg, server.Deps{Store: st, UI: os.DirFS("../../../ui"), Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	h := &host{url: hs.URL, st: st}
	if h.alice, err = st.CreateUserWithEmail("alice", "alice@example.test", "password1", false); err != nil {
		t.Fatal(err)
	}
	if h.bob, err = st.CreateUser("bob", "password2", false); err != nil {
		t.Fatal(err)
	}
	if h.aliceKey, _, err = st.CreateAPIKey(h.alice.ID); err != nil {
		t.Fatal(err)
	}
	if h.bobKey, _, err = st.CreateAPIKey(h.bob.ID); err != nil {
		t.Fatal(err)
	}
	return h
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	doc    map[string]any
}

func (a answer) String() string { return fmt.Sprintf("HTTP %d %s", a.status, a.raw) }

// message is the answer's "message" (2.x) or "msg" (1.x).
func (a answer) message() string {
	if m, ok := a.doc["message"].(string); ok {
		return m
	}
	m, _ := a.doc["msg"].(string)
	return m
}

func (a answer) data() map[string]any {
	d, _ := a.doc["data"].(map[string]any)
	return d
}

func (h *host) do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &a.doc)
	return a
}

// call sends method path with Accept: application/json and, when token is
// set, Authorization: Bearer token.
func (h *host) call(t *testing.T, method, path, token string, body io.Reader, contentType string) answer {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return h.do(t, req)
}

// upload posts a multipart upload: fields, then the file in fileField
// (none when data is nil), with headers hdr.
func (h *host) upload(t *testing.T, path string, hdr http.Header, fields map[string]string, fileField, name string, data []byte) answer {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if data != nil {
		w, _ := mw.CreateFormFile(fileField, name)
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", h.url+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.do(t, req)
}

// uploadV2 uploads data as name with token (none: a guest).
func (h *host) uploadV2(t *testing.T, token, name string, data []byte, fields map[string]string) answer {
	t.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	return h.upload(t, "/api/v1/upload", hdr, fields, "file", name, data)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../../testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// distinctPNG is a small PNG whose pixels depend on n, so each n is
// another image for the duplicates check.
func distinctPNG(t *testing.T, n int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(n*7 + i)
	}
	img.Set(0, 0, color.RGBA{byte(n), byte(n >> 8), 1, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// get fetches u and returns the body of a 200 answer.
func get(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return b
}

// ordered JSON, for comparing key order: an object is a list of members.
type member struct {
	key string
	val any
}
type orderedObject []member

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := orderedObject{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, member{k.(string), v})
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

func parseOrdered(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case orderedObject:
		return "object"
	}
	return "array"
}

// checkShape compares answer raw with testdata/<name> (see
// testdata/README.md): keys in order, value types, literal values.
func checkShape(t *testing.T, name string, raw []byte) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if errs := compareShape("", parseOrdered(t, want), parseOrdered(t, raw)); len(errs) > 0 {
		t.Errorf("answer differs from testdata/%s:\n  %s\nanswer: %s", name, strings.Join(errs, "\n  "), raw)
	}
}

func compareShape(path string, want, got any) []string {
	if s, ok := want.(string); ok && strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		for _, alt := range strings.Split(strings.Trim(s, "<>"), "|") {
			if alt == typeOf(got) {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: %s, want %s", path, typeOf(got), s)}
	}
	switch w := want.(type) {
	case orderedObject:
		g, ok := got.(orderedObject)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want an object", path, typeOf(got))}
		}
		var wk, gk []string
		for _, m := range w {
			wk = append(wk, m.key)
		}
		for _, m := range g {
			gk = append(gk, m.key)
		}
		if strings.Join(wk, ",") != strings.Join(gk, ",") {
			return []string{fmt.Sprintf("%s: keys %v, want %v", path, gk, wk)}
		}
		var errs []string
		for i := range w {
			errs = append(errs, compareShape(path+"."+w[i].key, w[i].val, g[i].val)...)
		}
		return errs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want an array", path, typeOf(got))}
		}
		if len(w) == 0 && len(g) > 0 {
			return []string{fmt.Sprintf("%s: %d elements, want none", path, len(g))}
		}
		var errs []string
		for i, e := range g {
			errs = append(errs, compareShape(fmt.Sprintf("%s[%d]", path, i), w[0], e)...)
		}
		return errs
	}
	if fmt.Sprint(want) != fmt.Sprint(got) || typeOf(want) != typeOf(got) {
		return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
	}
	return nil
}

// checkPHPEncoding: Lsky 2.x's json_encode escapes "/" and every non-ASCII
// character.
func checkPHPEncoding(t *testing.T, raw []byte) {
	t.Helper()
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			t.Errorf("non-ASCII byte in a Lsky 2.x answer: %s", raw)
			return
		}
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte(`\/`), nil), []byte("/")) {
		t.Errorf("unescaped / in a Lsky 2.x answer: %s", raw)
	}
}

func TestAnswerShapes(t *testing.T) {
	h := newHost(t, server.Config{})
	album, err := h.st.CreateAlbum(h.alice.ID, "相册 one", "intro", store.PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		fixture string
		send    func() answer
	}{
		{"upload", "upload.json", func() answer {
			return h.uploadV2(t, h.aliceKey, "截图 1.png", fixture(t, "photo.png"), map[string]string{"album_id": fmt.Sprint(album.ID)})
		}},
		{"images", "images.json", func() answer {
			return h.call(t, "GET", "/api/v1/images?album_id="+fmt.Sprint(album.ID), h.aliceKey, nil, "")
		}},
		{"albums", "albums.json", func() answer { return h.call(t, "GET", "/api/v1/albums", h.aliceKey, nil, "") }},
		{"profile", "profile.json", func() answer { return h.call(t, "GET", "/api/v1/profile", h.aliceKey, nil, "") }},
		{"strategies", "strategies.json", func() answer { return h.call(t, "GET", "/api/v1/strategies", "", nil, "") }},
		{"token", "token.json", func() answer {
			return h.call(t, "POST", "/api/v1/tokens", "", strings.NewReader("email=alice%40example.test&password=password1"), "application/x-www-form-urlencoded")
		}},
		{"delete image", "deleted.json", func() answer { return h.call(t, "DELETE", "/api/v1/images/nothere", h.aliceKey, nil, "") }},
		{"delete album", "deleted.json", func() answer { return h.call(t, "DELETE", "/api/v1/albums/999", h.aliceKey, nil, "") }},
		{"refusal", "refusal.json", func() answer { return h.call(t, "GET", "/api/v1/profile", "", nil, "") }},
		{"v1 upload", "v1_upload.json", func() answer {
			return h.upload(t, "/api/upload", http.Header{"Token": {h.aliceKey}}, map[string]string{"ssl": "true"}, "image", "photo.jpg", fixture(t, "photo.jpg"))
		}},
		{"v1 refusal", "v1_refusal.json", func() answer {
			return h.upload(t, "/api/upload", http.Header{"Token": {"pb_wrong"}}, nil, "image", "photo.jpg", fixture(t, "photo.jpg"))
		}},
		{"clear tokens", "cleared.json", func() answer { return h.call(t, "DELETE", "/api/v1/tokens", h.bobKey, nil, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.send()
			checkShape(t, tc.fixture, a.raw)
			if strings.HasPrefix(tc.fixture, "v1_") {
				if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Errorf("1.x answer: HTTP %d, Content-Type %q", a.status, a.header.Get("Content-Type"))
				}
				return
			}
			checkPHPEncoding(t, a.raw)
			if a.header.Get("Content-Type") != "application/json" || a.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("headers %v", a.header)
			}
		})
	}
	// 1.x writes Chinese as is (ThinkPHP's JSON_UNESCAPED_UNICODE).
	a := h.upload(t, "/api/upload", nil, nil, "image", "x.png", nil)
	if !bytes.Contains(a.raw, []byte(`"msg":"管理员关闭了游客上传通道"`)) {
		t.Errorf("1.x refusal not in ThinkPHP's encoding: %s", a.raw)
	}
}

// TestUploadAnswer: the upload answer's values are what Lsky builds, and its
// URLs work: the file serves the stored bytes (whose md5 and sha1 the answer
// gives), the thumbnail serves, the delete link deletes.
func TestUploadAnswer(t *testing.T) {
	h := newHost(t, server.Config{})
	a := h.uploadV2(t, h.aliceKey, `a "b" <c>.png`, fixture(t, "photo.png"), map[string]string{"strategy_id": "1", "permission": "1", "ssl": "true"})
	if a.status != http.StatusOK || a.doc["status"] != true || a.message() != "上传成功" {
		t.Fatalf("upload: %v", a)
	}
	d := a.data()
	id, ok := h.st.DecodeID(d["key"].(string))
	if !ok {
		t.Fatalf("key %q is no image id", d["key"])
	}
	img, err := h.st.Image(id)
	if err != nil {
		t.Fatal(err)
	}
	if img.OwnerID != h.alice.ID {
		t.Errorf("owner %d, want alice", img.OwnerID)
	}
	served := get(t, d["links"].(map[string]any)["url"].(string))
	if !bytes.Equal(served, fixture(t, "photo.png")) {
		t.Error("the URL does not serve the uploaded PNG")
	}
	m, s := md5.Sum(served), sha1.Sum(served)
	if d["md5"] != hex.EncodeToString(m[:]) || d["sha1"] != hex.EncodeToString(s[:]) {
		t.Errorf("md5 %v sha1 %v: not those of the served file", d["md5"], d["sha1"])
	}
	url := d["links"].(map[string]any)["url"].(string)
	name := `a "b" <c>.png`
	want := map[string]any{
		"name":        img.Name + ".png",
		"pathname":    img.File(store.Full),
		"origin_name": name,
		"size":        float64(len(served)) / 1024,
		"mimetype":    "image/png",
		"extension":   "png",
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	if !strings.HasSuffix(url, "/images/"+img.File(store.Full)) {
		t.Errorf("url %s does not end in the pathname", url)
	}
	links := d["links"].(map[string]any)
	for k, v := range map[string]string{
		"html":               `&lt;img src="` + url + `" alt="` + name + `" title="` + name + `" /&gt;`,
		"bbcode":             "[img]" + url + "[/img]",
		"markdown":           "![" + name + "](" + url + ")",
		"markdown_with_link": "[![" + name + "](" + url + ")](" + url + ")",
	} {
		if links[k] != v {
			t.Errorf("links.%s = %q, want %q", k, links[k], v)
		}
	}
	get(t, links["thumbnail_url"].(string))
	del := links["delete_url"].(string)
	if !strings.Contains(del, "/image/"+d["key"].(string)+"/delete/") {
		t.Fatalf("delete_url %s", del)
	}
	resp, err := http.PostForm(del, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := h.st.Image(id); err == nil {
		t.Error("the delete link did not delete the image")
	}
}

func TestUploadRefusals(t *testing.T) {
	flood := site.FloodLimits{2, 0, 0, 0, 0}
	h := newHost(t, server.Config{
		Site:     site.Config{FloodLimits: &flood, KeyFailureDelay: -1},
		Settings: site.Settings{MaxUpload: 200_000},
	})
	bomb, err := os.ReadFile("../../../imaging/testdata/png-bomb-50000x50000.png")
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 200_001)
	copy(big, fixture(t, "photo.png"))
	for _, tc := range []struct {
		name   string
		send   func() answer
		status int
		msg    string
	}{
		{"wrong token", func() answer {
			return h.uploadV2(t, "pb_0000000000000000000000000000000000000000", "a.png", fixture(t, "small.png"), nil)
		}, 401, "Authentication failed."},
		{"empty Authorization", func() answer {
			return h.upload(t, "/api/v1/upload", http.Header{"Authorization": {""}}, nil, "file", "a.png", fixture(t, "small.png"))
		}, 401, "Authentication failed."},
		{"guest while guest uploads are off", func() answer { return h.uploadV2(t, "", "a.png", fixture(t, "small.png"), nil) }, 200, "管理员关闭了游客上传"},
		{"no file", func() answer { return h.uploadV2(t, h.aliceKey, "", nil, map[string]string{"x": "y"}) }, 200, "file 不能为空。"},
		{"file in another field", func() answer {
			return h.upload(t, "/api/v1/upload", http.Header{"Authorization": {"Bearer " + h.aliceKey}}, nil, "image", "a.png", fixture(t, "small.png"))
		}, 200, "file 不能为空。"},
		{"not an image", func() answer { return h.uploadV2(t, h.aliceKey, "a.png", fixture(t, "notimage.txt"), nil) }, 200, "不支持的文件类型"},
		{"too big", func() answer { return h.uploadV2(t, h.aliceKey, "a.png", big, nil) }, 200, "图片大小超出限制"},
		{"pixel bomb", func() answer { return h.uploadV2(t, h.aliceKey, "a.png", bomb, nil) }, 200, "图片像素超出限制，最大 50 百万像素"},
		{"unknown strategy", func() answer {
			return h.uploadV2(t, h.aliceKey, "a.png", fixture(t, "small.png"), map[string]string{"strategy_id": "2"})
		}, 200, "选定的策略不存在"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.send()
			if a.status != tc.status || a.doc["status"] != false || a.message() != tc.msg {
				t.Errorf("%v, want HTTP %d %q", a, tc.status, tc.msg)
			}
			checkShape(t, "refusal.json", a.raw)
		})
	}
	if n, _ := h.st.CountImages(h.alice.ID); n != 0 {
		t.Fatalf("refused uploads stored %d images", n)
	}
	// The flood limit (2 a minute here) in Lsky's words.
	for i := range 2 {
		if a := h.uploadV2(t, h.bobKey, "a.png", distinctPNG(t, i), nil); a.doc["status"] != true {
			t.Fatalf("upload %d: %v", i, a)
		}
	}
	if a := h.uploadV2(t, h.bobKey, "a.png", distinctPNG(t, 3), nil); a.message() != "每分钟内你最多可以上传 2 张图片" {
		t.Errorf("third upload in a minute: %v", a)
	}
}

func TestDuplicatesRejected(t *testing.T) {
	h := newHost(t, server.Config{Settings: site.Settings{Duplicates: 1}})
	if a := h.uploadV2(t, h.aliceKey, "a.png", fixture(t, "small.png"), nil); a.doc["status"] != true {
		t.Fatalf("first upload: %v", a)
	}
	if a := h.uploadV2(t, h.aliceKey, "b.png", fixture(t, "small.png"), nil); a.message() != "该图片已上传过" {
		t.Errorf("duplicate under reject: %v", a)
	}
}

func TestGuestUploads(t *testing.T) {
	h := newHost(t, server.Config{Settings: site.Settings{GuestUploads: true}})
	a := h.uploadV2(t, "", "a.png", fixture(t, "small.png"), nil)
	b := h.uploadV2(t, "", "a.png", fixture(t, "small.png"), nil)
	if a.doc["status"] != true || b.doc["status"] != true {
		t.Fatalf("guest uploads: %v / %v", a, b)
	}
	// Two API guests never share an image (nor its delete link).
	if a.data()["key"] == b.data()["key"] {
		t.Error("a second guest got the first guest's image")
	}
	v1 := h.upload(t, "/api/upload", nil, nil, "image", "a.jpg", fixture(t, "small.jpg"))
	if v1.doc["code"] != float64(200) || v1.data()["url"] == nil {
		t.Fatalf("1.x guest upload: %v", v1)
	}
	if _, ok := v1.data()["quota"]; ok {
		t.Error("a guest's 1.x answer has a quota")
	}
}

func TestTokenRoutesNeedAToken(t *testing.T) {
	h := newHost(t, server.Config{Site: site.Config{KeyFailureDelay: -1}})
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/images"}, {"DELETE", "/api/v1/images/abc"}, {"GET", "/api/v1/albums"},
		{"DELETE", "/api/v1/albums/1"}, {"GET", "/api/v1/profile"}, {"DELETE", "/api/v1/tokens"},
	}
	for _, rt := range routes {
		for _, tok := range []string{"", "pb_0000000000000000000000000000000000000000"} {
			a := h.call(t, rt.method, rt.path, tok, nil, "")
			if a.status != 401 || a.message() != "Unauthenticated." {
				t.Errorf("%s %s with token %q: %v", rt.method, rt.path, tok, a)
			}
		}
	}
	// Wrong keys count against the address: after site's limit, 429 for
	// every token, even the right one keeps working.
	for range site.DefaultMaxKeyFailures {
		h.call(t, "GET", "/api/v1/profile", "pb_1111111111111111111111111111111111111111", nil, "")
	}
	a := h.call(t, "GET", "/api/v1/profile", "pb_2222222222222222222222222222222222222222", nil, "")
	if a.status != 429 || a.message() != "Too Many Attempts." || a.header.Get("Retry-After") == "" {
		t.Errorf("blocked address: %v (Retry-After %q)", a, a.header.Get("Retry-After"))
	}
	if a := h.call(t, "GET", "/api/v1/profile", h.aliceKey, nil, ""); a.status != 200 {
		t.Errorf("a valid key from a blocked address: %v", a)
	}
	// A bare key (no "Bearer ") is accepted too.
	req, _ := http.NewRequest("GET", h.url+"/api/v1/profile", nil)
	req.Header.Set("Authorization", h.aliceKey)
	if a := h.do(t, req); a.status != 200 || a.data()["name"] != "alice" {
		t.Errorf("bare key: %v", a)
	}
}

func TestTokens(t *testing.T) {
	h := newHost(t, server.Config{})
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, body, ct, msg string
	}{
		{"no email", "password=x", form, "email 不能为空。"},
		{"no password", "email=alice%40example.test", form, "password 不能为空。"},
		{"wrong password", `{"email":"alice@example.test","password":"nope"}`, "application/json", "The email address or password is incorrect."},
	} {
		a := h.call(t, "POST", "/api/v1/tokens", "", strings.NewReader(tc.body), tc.ct)
		if a.status != 200 || a.doc["status"] != false || a.message() != tc.msg {
			t.Errorf("%s: %v, want %q", tc.name, a, tc.msg)
		}
	}
	// Lsky's throttle: 3 token requests a minute per address.
	a := h.call(t, "POST", "/api/v1/tokens", "", strings.NewReader(`{"email":"bob","password":"password2"}`), "application/json")
	if a.status != 429 || a.message() != "Too Many Attempts." || a.header.Get("Retry-After") == "" {
		t.Fatalf("fourth token request in a minute: %v", a)
	}
}

func TestTokenLifecycle(t *testing.T) {
	h := newHost(t, server.Config{})
	// By user name (picbed's login) and JSON body.
	a := h.call(t, "POST", "/api/v1/tokens", "", strings.NewReader(`{"email":"bob","password":"password2"}`), "application/json")
	tok, _ := a.data()["token"].(string)
	if a.status != 200 || tok == "" {
		t.Fatalf("token request: %v", a)
	}
	if a := h.call(t, "GET", "/api/v1/profile", tok, nil, ""); a.data()["name"] != "bob" {
		t.Fatalf("new token is not bob's: %v", a)
	}
	// DELETE /tokens revokes the key used, and only that one.
	if a := h.call(t, "DELETE", "/api/v1/tokens", tok, nil, ""); a.status != 200 || a.doc["status"] != true {
		t.Fatalf("clear: %v", a)
	}
	if a := h.call(t, "GET", "/api/v1/profile", tok, nil, ""); a.status != 401 {
		t.Errorf("revoked token still works: %v", a)
	}
	if a := h.call(t, "GET", "/api/v1/profile", h.bobKey, nil, ""); a.status != 200 {
		t.Errorf("bob's other key was revoked too: %v", a)
	}
}

// TestUsersStayApart: bob's token never reads, moves into or deletes
// alice's images and albums.
func TestUsersStayApart(t *testing.T) {
	h := newHost(t, server.Config{})
	album, err := h.st.CreateAlbum(h.alice.ID, "alice's", "", store.PrivacyPrivate, "")
	if err != nil {
		t.Fatal(err)
	}
	a := h.uploadV2(t, h.aliceKey, "alice.png", fixture(t, "photo.png"), map[string]string{"album_id": h.st.EncodeID(album.ID)})
	key, _ := a.data()["key"].(string)
	id, _ := h.st.DecodeID(key)
	img, err := h.st.Image(id)
	if err != nil || img.AlbumID != album.ID {
		t.Fatalf("alice's upload into her album by its encoded id: %v, album %d", err, img.AlbumID)
	}
	loose := h.uploadV2(t, h.aliceKey, "loose.png", fixture(t, "small.png"), nil)

	// Bob names alice's album: his image lands in no album.
	b := h.uploadV2(t, h.bobKey, "bob.png", distinctPNG(t, 1), map[string]string{"album_id": fmt.Sprint(album.ID)})
	bid, _ := h.st.DecodeID(b.data()["key"].(string))
	if bimg, _ := h.st.Image(bid); bimg.AlbumID != 0 || bimg.OwnerID != h.bob.ID {
		t.Errorf("bob's upload naming alice's album: album %d owner %d", bimg.AlbumID, bimg.OwnerID)
	}
	for _, q := range []string{"", "?album_id=" + fmt.Sprint(album.ID), "?album_id=" + h.st.EncodeID(album.ID), "?keyword=alice", "?q=loose"} {
		l := h.call(t, "GET", "/api/v1/images"+q, h.bobKey, nil, "")
		for _, it := range l.data()["data"].([]any) {
			if k := it.(map[string]any)["key"]; k == key || k == loose.data()["key"] {
				t.Errorf("bob's list %q shows alice's image", q)
			}
		}
	}
	if l := h.call(t, "GET", "/api/v1/albums", h.bobKey, nil, ""); l.data()["total"] != float64(0) {
		t.Errorf("bob sees albums: %s", l.raw)
	}
	if d := h.call(t, "DELETE", "/api/v1/images/"+key, h.bobKey, nil, ""); d.message() != "删除成功" {
		t.Errorf("bob deleting alice's image: %v", d)
	}
	if _, err := h.st.Image(id); err != nil {
		t.Error("bob deleted alice's image")
	}
	h.call(t, "DELETE", "/api/v1/albums/"+fmt.Sprint(album.ID), h.bobKey, nil, "")
	h.call(t, "DELETE", "/api/v1/albums/"+h.st.EncodeID(album.ID), h.bobKey, nil, "")
	if _, err := h.st.Album(album.ID); err != nil {
		t.Error("bob deleted alice's album")
	}
	// Alice's own token does delete, and deleting the album keeps its image.
	h.call(t, "DELETE", "/api/v1/albums/"+fmt.Sprint(album.ID), h.aliceKey, nil, "")
	if _, err := h.st.Album(album.ID); err == nil {
		t.Error("alice's album was not deleted")
	}
	if img, err := h.st.Image(id); err != nil || img.AlbumID != 0 {
		t.Errorf("the album's image after the album went: %v, album %d", err, img.AlbumID)
	}
	h.call(t, "DELETE", "/api/v1/images/"+key, h.aliceKey, nil, "")
	if _, err := h.st.Image(id); err == nil {
		t.Error("alice's image was not deleted")
	}
}

// TestImageList: Lsky's filters, orders and pages over 50 images, 5 of
// them in a public album.
func TestImageList(t *testing.T) {
	h := newHost(t, server.Config{Site: site.Config{FloodLimits: &site.FloodLimits{}}})
	pub, _ := h.st.CreateAlbum(h.alice.ID, "pub", "", store.PrivacyPublic, "")
	var keys []string
	for i := range 50 {
		f := map[string]string{}
		if i%10 == 0 {
			f["album_id"] = fmt.Sprint(pub.ID)
		}
		a := h.uploadV2(t, h.aliceKey, fmt.Sprintf("n%02d.png", i), distinctPNG(t, i), f)
		if a.doc["status"] != true {
			t.Fatalf("upload %d: %v", i, a)
		}
		keys = append(keys, a.data()["key"].(string))
	}
	list := func(q string) map[string]any {
		t.Helper()
		a := h.call(t, "GET", "/api/v1/images"+q, h.aliceKey, nil, "")
		if a.status != 200 {
			t.Fatalf("list %s: %v", q, a)
		}
		checkShape(t, "images.json", a.raw)
		checkPHPEncoding(t, a.raw)
		return a.data()
	}
	count := func(d map[string]any) int { return len(d["data"].([]any)) }
	first := func(d map[string]any) map[string]any { return d["data"].([]any)[0].(map[string]any) }

	// Without album_id: the 45 images in no album, newest first, 40 a page.
	d := list("?x=1&order=newest")
	if d["total"] != float64(45) || d["last_page"] != float64(2) || count(d) != 40 || d["from"] != float64(1) || d["to"] != float64(40) {
		t.Errorf("page 1: total %v last %v n %d from %v to %v", d["total"], d["last_page"], count(d), d["from"], d["to"])
	}
	if f := first(d); f["key"] != keys[49] || f["human_date"] != "1秒前" || f["width"] != float64(8) {
		t.Errorf("newest first: %v", f)
	}
	base := h.url + "/api/v1/images"
	if d["path"] != base || d["next_page_url"] != base+"?x=1&order=newest&page=2" || d["prev_page_url"] != nil ||
		d["first_page_url"] != base+"?x=1&order=newest&page=1" {
		t.Errorf("page URLs: path %v next %v prev %v first %v", d["path"], d["next_page_url"], d["prev_page_url"], d["first_page_url"])
	}
	var labels []string
	for _, l := range d["links"].([]any) {
		lm := l.(map[string]any)
		labels = append(labels, fmt.Sprint(lm["label"], "/", lm["active"]))
	}
	if got := strings.Join(labels, " "); got != "&laquo; 上一页/false 1/true 2/false 下一页 &raquo;/false" {
		t.Errorf("links: %s", got)
	}
	d = list("?order=newest&page=2&x=1")
	if count(d) != 5 || d["from"] != float64(41) || d["to"] != float64(45) || d["next_page_url"] != nil ||
		d["prev_page_url"] != base+"?order=newest&x=1&page=1" {
		t.Errorf("page 2: n %d from %v to %v next %v prev %v", count(d), d["from"], d["to"], d["next_page_url"], d["prev_page_url"])
	}
	if d := list("?page=9"); count(d) != 0 || d["from"] != nil || d["current_page"] != float64(9) {
		t.Errorf("past the last page: n %d from %v page %v", count(d), d["from"], d["current_page"])
	}
	if d := list("?page=abc"); d["current_page"] != float64(1) {
		t.Errorf("page=abc is page %v", d["current_page"])
	}
	// The album's 5, oldest first; by Lsky's integer id or the encoded one.
	for _, id := range []string{fmt.Sprint(pub.ID), h.st.EncodeID(pub.ID)} {
		if d := list("?order=earliest&album_id=" + id); d["total"] != float64(5) || first(d)["key"] != keys[0] {
			t.Errorf("album %s: total %v first %v", id, d["total"], first(d)["key"])
		}
	}
	if d := list("?album_id=999999"); d["total"] != float64(0) {
		t.Errorf("an album that is not hers: %v", d["total"])
	}
	// permission: public is an image in a public album.
	if d := list(fmt.Sprintf("?album_id=%d&permission=public", pub.ID)); d["total"] != float64(5) {
		t.Errorf("public: %v", d["total"])
	}
	if d := list("?permission=public"); d["total"] != float64(0) {
		t.Errorf("public images in no album: %v", d["total"])
	}
	if d := list("?permission=private&keyword=N07"); d["total"] != float64(1) || first(d)["origin_name"] != "n07.png" {
		t.Errorf("keyword: %v", d["total"])
	}
	// By size: the smallest first, each size Lsky's two-decimal KB.
	d = list("?order=least")
	prev := -1.0
	for _, it := range d["data"].([]any) {
		size := it.(map[string]any)["size"].(float64)
		if size < prev || size*100 != float64(int(size*100+0.5)) {
			t.Errorf("size %v after %v", size, prev)
		}
		prev = size
	}
	// Albums list: one, with its count.
	a := h.call(t, "GET", "/api/v1/albums?keyword=pu", h.aliceKey, nil, "")
	checkShape(t, "albums.json", a.raw)
	al := a.data()["data"].([]any)[0].(map[string]any)
	if al["id"] != float64(pub.ID) || al["name"] != "pub" || al["image_num"] != float64(5) {
		t.Errorf("album: %v", al)
	}
	// Profile: counts and the used capacity in KB.
	p := h.call(t, "GET", "/api/v1/profile", h.aliceKey, nil, "").data()
	if p["image_num"] != float64(50) || p["album_num"] != float64(1) || p["email"] != "alice@example.test" || p["used_capacity"].(float64) <= 0 {
		t.Errorf("profile: %v", p)
	}
}

// TestUnknownRoutes: under /api/v1/ every path Lsky has answers its methods
// and Laravel's 405 for others; anything else is Laravel's 404; CORS
// preflights pass for any origin. Chevereto's /api/1/upload is untouched.
func TestUnknownRoutes(t *testing.T) {
	h := newHost(t, server.Config{})
	for _, tc := range []struct {
		method, path, file string
		status             int
		allow              string
	}{
		{"GET", "/api/v1/nope", "not_found.txt", 404, ""},
		{"GET", "/api/v1/upload", "method_not_allowed.txt", 405, "POST"},
	} {
		a := h.call(t, tc.method, tc.path, "", nil, "")
		want, _ := os.ReadFile(filepath.Join("testdata", tc.file))
		if a.status != tc.status || !bytes.Equal(a.raw, want) || a.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: HTTP %d Allow %q\n%s\nwant %d:\n%s", tc.method, tc.path, a.status, a.header.Get("Allow"), a.raw, tc.status, want)
		}
	}
	// Every route of Lsky's table is mounted with its methods (HEAD with
	// GET), and answers 405 for another.
	for _, rt := range []struct{ path, methods string }{
		{"/api/v1/strategies", "GET, HEAD"}, {"/api/v1/upload", "POST"}, {"/api/v1/tokens", "POST, DELETE"},
		{"/api/v1/images", "GET, HEAD"}, {"/api/v1/images/k", "DELETE"}, {"/api/v1/albums", "GET, HEAD"},
		{"/api/v1/albums/1", "DELETE"}, {"/api/v1/profile", "GET, HEAD"},
	} {
		for _, m := range strings.Split(rt.methods, ", ") {
			if a := h.call(t, m, rt.path, "", nil, ""); a.status == 404 || a.status == 405 {
				t.Errorf("%s %s is not mounted: %v", m, rt.path, a)
			}
		}
		if a := h.call(t, "PATCH", rt.path, "", nil, ""); a.status != 405 || a.header.Get("Allow") != rt.methods ||
			a.doc["message"] != "The PATCH method is not supported for route "+rt.path[1:]+". Supported methods: "+rt.methods+"." {
			t.Errorf("PATCH %s: %v", rt.path, a)
		}
	}
	req, _ := http.NewRequest("OPTIONS", h.url+"/api/v1/upload", nil)
	req.Header.Set("Origin", "app://obsidian.md")
	req.Header.Set("Access-Control-Request-Method", "post")
	req.Header.Set("Access-Control-Request-Headers", "authorization,accept")
	a := h.do(t, req)
	if a.status != 204 || a.header.Get("Access-Control-Allow-Origin") != "*" || a.header.Get("Access-Control-Allow-Methods") != "POST" ||
		a.header.Get("Access-Control-Allow-Headers") != "authorization,accept" {
		t.Errorf("preflight: %v %v", a, a.header)
	}
	req, _ = http.NewRequest("OPTIONS", h.url+"/api/v1/tokens", nil)
	if a := h.do(t, req); a.status != 200 || a.header.Get("Allow") != "POST,DELETE" {
		t.Errorf("OPTIONS without preflight: %v %v", a, a.header)
	}
	if a := h.upload(t, "/api/1/upload", nil, map[string]string{"key": h.aliceKey}, "source", "a.png", fixture(t, "small.png")); a.status != 200 || a.doc["status_code"] != float64(200) {
		t.Errorf("the Chevereto API: %v", a)
	}
}

// TestV1Refusals: Lsky 1.x's refusals, HTTP 200 with its codes.
func TestV1Refusals(t *testing.T) {
	h := newHost(t, server.Config{Site: site.Config{KeyFailureDelay: -1}})
	for _, tc := range []struct {
		name  string
		hdr   http.Header
		field map[string]string
		file  string
		data  []byte
		code  float64
		msg   string
	}{
		{"wrong token", http.Header{"Token": {"pb_0000000000000000000000000000000000000000"}}, nil, "image", fixture(t, "small.png"), 401, "认证失败"},
		{"wrong token in the form", nil, map[string]string{"token": "nope"}, "image", fixture(t, "small.png"), 401, "认证失败"},
		{"guest while off", nil, nil, "image", fixture(t, "small.png"), 500, "管理员关闭了游客上传通道"},
		{"no image", http.Header{"Token": {h.aliceKey}}, nil, "file", fixture(t, "small.png"), 500, "图片资源获取失败"},
		{"not an image", http.Header{"Token": {h.aliceKey}}, nil, "image", fixture(t, "notimage.txt"), 500, "不支持的文件类型"},
	} {
		a := h.upload(t, "/api/upload", tc.hdr, tc.field, tc.file, "a.png", tc.data)
		if a.status != 200 || a.doc["code"] != tc.code || a.message() != tc.msg {
			t.Errorf("%s: %v, want code %v %q", tc.name, a, tc.code, tc.msg)
		}
		checkShape(t, "v1_refusal.json", a.raw)
	}
	// The token may also come as a form field, before the file.
	a := h.upload(t, "/api/upload", nil, map[string]string{"token": h.bobKey}, "image", "b.jpg", fixture(t, "photo.jpg"))
	if a.doc["code"] != float64(200) || a.data()["name"] != "b.jpg" {
		t.Fatalf("token field: %v", a)
	}
	if got := get(t, a.data()["url"].(string)); len(got) != int(a.data()["size"].(float64)) {
		t.Errorf("1.x size %v, served %d bytes", a.data()["size"], len(got))
	}
}
