package server

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

var updateAnswers = flag.Bool("update-answers", false, "rewrite testdata/answers.golden from the current code")

// answerHeaders are the headers of API answers that clients can see and
// that do not vary between runs.
var answerHeaders = []string{"Cache-Control", "Connection", "Content-Type", "Last-Modified", "Location", "Pragma", "X-Content-Type-Options"}

// TestAnswersByteIdentical sends a fixed sequence of API and web uploads,
// good and refused, to a server with a fixed clock, and compares every
// status, header and body byte with testdata/answers.golden, which was
// written by the code before the ingest/dialect restructuring. Only what
// differs between installs is replaced before the comparison: the server's
// address, encoded ids, delete tokens and random base64 file names.
func TestAnswersByteIdentical(t *testing.T) {
	clock := time.Date(2026, 11, 30, 12, 34, 56, 0, time.UTC)
	var out bytes.Buffer
	record := func(name string, resp *http.Response) {
		t.Helper()
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "=== %s\n%d\n", name, resp.StatusCode)
		for _, k := range answerHeaders {
			if v := resp.Header.Get(k); v != "" {
				fmt.Fprintf(&out, "%s: %s\n", k, v)
			}
		}
		out.Write(body)
		out.WriteString("\n")
	}

	h := newTestHost(t, Config{Site: site.Config{Location: time.UTC}, Settings: site.Settings{MaxUpload: 200_000}})
	h.srv.now = func() time.Time { return clock }
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(name, path string, parts [][2]string, fileField, fileName string, file []byte) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for _, p := range parts {
			mw.WriteField(p[0], p[1])
		}
		if file != nil {
			w, _ := mw.CreateFormFile(fileField, fileName)
			w.Write(file)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", h.http.URL+path, &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		record(name, resp)
	}
	get := func(name, rawQuery string) {
		t.Helper()
		resp, err := noRedirect.Get(h.http.URL + "/api/1/upload?" + rawQuery)
		if err != nil {
			t.Fatal(err)
		}
		record(name, resp)
	}
	key := [2]string{"key", h.key}
	png, jpg := readTestdata(t, "photo.png"), readTestdata(t, "small.jpg")
	bmp := readTestdata(t, "image.bmp")

	send("png json", "/api/1/upload", [][2]string{key, {"title", "Golden photo"}, {"description", "a description"}, {"nsfw", "1"}}, "source", "photo.png", png)
	send("jpeg small json", "/api/1/upload", [][2]string{key}, "source", "small.jpg", jpg)
	send("png txt", "/api/1/upload", [][2]string{key, {"format", "txt"}}, "source", "small.png", readTestdata(t, "small.png"))
	send("gif redirect", "/api/1/upload", [][2]string{key, {"format", "redirect"}}, "source", "anim.gif", readTestdata(t, "anim.gif"))
	send("webp imgbb alias", "/api/1/upload", [][2]string{key, {"expiration", "PT1H"}}, "image", "image.webp", readTestdata(t, "image.webp"))
	send("bmp base64", "/api/1/upload", [][2]string{key, {"source", base64.StdEncoding.EncodeToString(bmp)}, {"width", "100"}}, "", "", nil)
	send("duplicate reused", "/api/1/upload", [][2]string{key}, "source", "photo.png", png)
	send("no key", "/api/1/upload", nil, "source", "a.png", png)
	send("wrong key", "/api/1/upload", [][2]string{{"key", "nope"}}, "source", "a.png", png)
	send("bad version", "/api/2/upload", [][2]string{key}, "source", "a.png", png)
	send("bad action", "/api/1/delete", [][2]string{key}, "source", "a.png", png)
	send("empty source", "/api/1/upload", [][2]string{key}, "", "", nil)
	send("not an image", "/api/1/upload", [][2]string{key}, "source", "notimage.txt", readTestdata(t, "notimage.txt"))
	send("too big", "/api/1/upload", [][2]string{key}, "source", "noise300.png", readTestdata(t, "noise300.png"))
	send("too many pixels", "/api/1/upload", [][2]string{key}, "source", "huge.png", pngHeader(20000, 20000))
	send("bad base64", "/api/1/upload", [][2]string{key, {"source", "bm90IGJhc2U2NA=x"}}, "", "", nil)
	send("url forbidden", "/api/1/upload", [][2]string{key, {"source", "http://example.com/a.png"}}, "", "", nil)
	send("txt error", "/api/1/upload", [][2]string{{"format", "txt"}, {"key", "nope"}}, "source", "a.png", png)
	send("redirect error", "/api/1/upload", [][2]string{{"format", "redirect"}, key}, "", "", nil)
	var many [][2]string
	for i := range 70 {
		many = append(many, [2]string{fmt.Sprintf("f%d", i), "x"})
	}
	send("too many fields", "/api/1/upload", append([][2]string{key}, many...), "", "", nil)
	get("base64 by GET", "key="+h.key+"&source="+base64.URLEncoding.EncodeToString(jpg))
	get("GET without source", "key="+h.key)
	setSite(t, h, func(s *site.Settings) { s.Duplicates = ingest.DuplicatesReject })
	send("duplicate rejected", "/api/1/upload", [][2]string{key}, "source", "photo.png", png)

	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	w.get("/")
	webSend := func(name string, lang string, fileName string, file []byte) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if file != nil {
			fw, _ := mw.CreateFormFile("source", fileName)
			fw.Write(file)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", h.http.URL+"/upload", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("X-CSRF-Token", w.csrf)
		req.Header.Set("Origin", h.http.URL)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := w.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		record(name, resp)
	}
	webSend("web upload", "", "web.jpg", readTestdata(t, "photo.jpg"))
	webSend("web not an image zh", "zh-CN", "x.png", []byte("hello, this is text"))
	webSend("web too big zh", "zh-CN", "noise300.png", readTestdata(t, "noise300.png"))
	webSend("web too big en", "en", "noise300.png", readTestdata(t, "noise300.png"))
	webSend("web duplicate zh", "zh-CN", "photo.png", png)

	first := h
	flood := newTestHost(t, Config{Site: site.Config{Location: time.UTC, FloodLimits: &site.FloodLimits{1, 0, 0, 0, 0}}})
	flood.srv.now = func() time.Time { return clock }
	h = flood
	key = [2]string{"key", h.key}
	send("flood first", "/api/1/upload", [][2]string{key}, "source", "small.jpg", jpg)
	send("flood refused", "/api/1/upload", [][2]string{key}, "source", "photo.png", png)

	got := normalizeAnswers(t, out.String(), first, flood)
	golden := filepath.Join("testdata", "answers.golden")
	if *updateAnswers {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("answers differ from %s at line %d:\n got: %s\nwant: %s", golden, i+1, g, w)
			}
		}
	}
}

var randomBase64Name = regexp.MustCompile(`^[0-9a-f]{12}$`)

// normalizeAnswers replaces what differs between installs in out: each
// host's address, and for each stored image its encoded id, delete token
// and (for base64 uploads) its random name.
func normalizeAnswers(t *testing.T, out string, hosts ...*testHost) string {
	t.Helper()
	var pairs []string
	for hi, h := range hosts {
		pairs = append(pairs, h.http.URL, fmt.Sprintf("{HOST%d}", hi),
			strings.ReplaceAll(h.http.URL, "/", `\/`), fmt.Sprintf("{HOST%d}", hi))
		users, err := h.store.Users()
		if err != nil {
			t.Fatal(err)
		}
		var imgs []store.Image
		for _, u := range users {
			got, err := h.store.Images(u.ID, 0, store.MaxImagesLimit)
			if err != nil {
				t.Fatal(err)
			}
			imgs = append(imgs, got...)
		}
		sort.Slice(imgs, func(i, j int) bool { return imgs[i].ID < imgs[j].ID })
		for _, img := range imgs {
			tag := fmt.Sprintf("%d.%d", hi, img.ID)
			pairs = append(pairs, h.store.DeleteToken(img.ID), "{DEL"+tag+"}")
			if randomBase64Name.MatchString(img.Name) {
				pairs = append(pairs, img.Name, "{NAME"+tag+"}")
			}
			pairs = append(pairs, `"`+h.store.EncodeID(img.ID)+`"`, `"{ID`+tag+`}"`,
				"/"+h.store.EncodeID(img.ID), "/{ID"+tag+"}",
				`\/`+h.store.EncodeID(img.ID), `\/{ID`+tag+"}",
				"."+h.store.EncodeID(img.ID), ".{ID"+tag+"}")
		}
	}
	return strings.NewReplacer(pairs...).Replace(out)
}
