package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// jsonShape lists every key of a JSON document in document order with the
// JSON type of its value: "image.size string", "image.display_height number".
func jsonShape(t testing.TB, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []string
	var walk func(prefix string) error
	walk = func(prefix string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					k := prefix + kt.(string)
					out = append(out, k+" ?") // walk fills in the type
					if err := walk(k + "."); err != nil {
						return err
					}
				}
				dec.Token() // '}'
				setLastType(out, prefix, "object")
			case '[':
				for dec.More() {
					if err := walk(prefix + "[]."); err != nil {
						return err
					}
				}
				dec.Token()
				setLastType(out, prefix, "array")
			}
		case string:
			setLastType(out, prefix, "string")
		case json.Number:
			setLastType(out, prefix, "number")
		case bool:
			setLastType(out, prefix, "bool")
		case nil:
			setLastType(out, prefix, "null")
		}
		return nil
	}
	if err := walk(""); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, body)
	}
	return out
}

// setLastType fills in the type of the key whose value just ended.
func setLastType(out []string, prefix, typ string) {
	key := strings.TrimSuffix(prefix, ".")
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] == key+" ?" {
			out[i] = key + " " + typ
			return
		}
	}
}

// shapeWithProfile is what picbed's profile answers for a captured V3
// shape: is_360 after is_approved and delete_url last in image.
func shapeWithProfile(captured []string) []string {
	var out []string
	for _, k := range captured {
		out = append(out, k)
		if k == "image.is_approved string" {
			out = append(out, "image.is_360 string")
		}
		if k == "image.is_use_loader bool" {
			out = append(out, "image.delete_url string")
		}
	}
	return out
}

// shapeWithoutMedium is a shape as Chevereto answers an image without a
// medium: no medium object, and display_height a string like display_width.
func shapeWithoutMedium(shape []string) []string {
	var out []string
	for _, k := range shape {
		switch {
		case strings.HasPrefix(k, "image.medium ") || strings.HasPrefix(k, "image.medium."):
			continue
		case k == "image.display_height number":
			k = "image.display_height string"
		}
		out = append(out, k)
	}
	return out
}

// TestResponseShapeMatchesChevereto uploads the same kinds of files as the
// captures of a real Chevereto and compares key order and value types.
func TestResponseShapeMatchesChevereto(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "shape")
	in := startPicbed(t, data, "--exif", "keep")
	for _, tc := range []struct {
		capture, file string
		// noMedium: picbed drops a medium that would not be smaller than the
		// image (its WebP encoder is lossless), where Chevereto keeps one.
		noMedium bool
	}{
		{"01-jpeg-exif", "photo.jpg", false},
		{"02-png", "photo.png", false},
		{"03-png-small", "small.png", false},
		{"04-gif-animated", "anim.gif", false},
		{"05-webp", "image.webp", true},
		{"06-jpeg-small", "small.jpg", false},
		{"07-bmp", "image.bmp", false},
		{"43-png-nomedium-over-200kb", "noise300.png", false},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			want := shapeWithProfile(jsonShape(t, fixture(t, "chevereto/"+tc.capture+".body")))
			if tc.noMedium {
				want = shapeWithoutMedium(want)
			}
			a, err := upload(in.base, key, tc.file, fixture(t, tc.file))
			if err != nil || a.status != 200 {
				t.Fatalf("%v HTTP %d: %s", err, a.status, a.body)
			}
			got := jsonShape(t, a.body)
			// original_exifdata is JSON text when EXIF was kept and null
			// when the file had none; Chevereto fills it for every JPEG.
			for i, k := range want {
				if k == "image.original_exifdata string" && i < len(got) && got[i] == "image.original_exifdata null" && tc.file == "small.jpg" {
					want[i] = got[i]
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("shape differs from the capture:\n%s", diffLines(want, got))
			}
		})
	}
}

// diffLines shows the first differing lines of two lists.
func diffLines(want, got []string) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		mark := "  "
		if w != g {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s%-45s %s\n", mark, w, g)
	}
	return b.String()
}

// TestErrorsMatchChevereto sends the requests of the captured error cases
// and compares the whole answer, byte for byte.
func TestErrorsMatchChevereto(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "errs")
	in := startPicbed(t, data, "--max-upload", "500KB", "--duplicates", "reject", "--url-uploads", "true")
	small := startPicbed(t, data+"-10mb", "--max-upload", "10MB")
	smallKey := newUserKey(t, data+"-10mb", "errs")
	big := bytes.Repeat([]byte{0xff, 0xd8, 0xff}, 200_000) // 600 kB
	form := func(fields ...string) []part {
		var ps []part
		for i := 0; i+1 < len(fields); i += 2 {
			ps = append(ps, part{name: fields[i], data: []byte(fields[i+1])})
		}
		return ps
	}
	postTo := func(base, path string, ps ...part) *http.Request {
		bd := "------------------------errcase0123456789"
		return mustRequest(t, "POST", base+path, multipartBody(bd, ps...), map[string]string{"Content-Type": "multipart/form-data; boundary=" + bd})
	}
	post := func(path string, ps ...part) *http.Request { return postTo(in.base, path, ps...) }
	file := func(name string, data []byte) part {
		return part{name: "source", filename: name, ctype: "application/octet-stream", data: data}
	}
	// The duplicate case needs a first upload of the same bytes.
	if a, err := upload(in.base, key, "small.png", fixture(t, "small.png")); err != nil || a.status != 200 {
		t.Fatalf("first upload: %v HTTP %d %s", err, a.status, a.body)
	}
	for _, tc := range []struct {
		capture string
		req     *http.Request
		status  int
	}{
		{"08-invalid-text-txt", post("/api/1/upload", append(form("key", key), file("notimage.txt", fixture(t, "notimage.txt")))...), 400},
		{"09-invalid-text-as-jpg", post("/api/1/upload", append(form("key", key), file("notimage.jpg", fixture(t, "notimage.jpg")))...), 400},
		{"10-missing-key", post("/api/1/upload", append(form("format", "json"), file("photo.jpg", fixture(t, "photo.jpg")))...), 400},
		{"11-wrong-key", post("/api/1/upload", append(form("key", "wrongkey"), file("photo.jpg", fixture(t, "photo.jpg")))...), 400},
		{"13-too-large-guest-limit", post("/api/1/upload", append(form("key", key), file("big.jpg", big))...), 400},
		{"15-duplicate", post("/api/1/upload", append(form("key", key, "format", "json"), file("small.png", fixture(t, "small.png")))...), 400},
		{"25-missing-source", post("/api/1/upload", form("key", key, "format", "json")...), 400},
		{"26-bad-version", post("/api/2/upload", append(form("key", key), file("photo.jpg", fixture(t, "photo.jpg")))...), 400},
		{"27-bad-action", post("/api/1/delete", append(form("key", key), file("photo.jpg", fixture(t, "photo.jpg")))...), 400},
		{"28-error-format-txt", post("/api/1/upload", append(form("key", "wrongkey", "format", "txt"), file("photo.jpg", fixture(t, "photo.jpg")))...), 200},
		{"29-error-format-redirect", post("/api/1/upload", append(form("key", "wrongkey", "format", "redirect"), file("photo.jpg", fixture(t, "photo.jpg")))...), 200},
		{"21-url-localhost", post("/api/1/upload", form("key", key, "source", in.base+"/exif-local.jpg", "format", "json")...), 400},
		{"36-url-localhost-name", post("/api/1/upload", form("key", key, "source", "http://localhost:8099/exif-local.jpg", "format", "json")...), 400},
		{"41-too-large-16mb-bench-config", postTo(small.base, "/api/1/upload", append(form("key", smallKey, "format", "json"), file("elephants-16mb.jpg", bytes.Repeat(big, 28)))...), 400},
		{"34-base64-get-follow", mustRequest(t, "GET", in.base+"/api/1/upload/?"+url.Values{"key": {key}, "source": {"R0lGODlhAQABAAAAADs="}, "format": {"json"}}.Encode(), nil, nil), 400},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			resp, body := do(t, tc.req)
			want := fixture(t, "chevereto/"+tc.capture+".body")
			if resp.StatusCode != tc.status || !bytes.Equal(body, want) {
				t.Errorf("got HTTP %d %s\nwant HTTP %d %s", resp.StatusCode, body, tc.status, want)
			}
		})
	}
	// Nothing of the refused uploads may have been stored: one image only.
	files := 0
	walkImages(t, data, func(string) { files++ })
	if files != 2 { // small.png and its thumbnail
		t.Errorf("after the refused uploads the image tree holds %d files, want 2", files)
	}
}

// TestOutputFormats checks format=txt (the bare URL) and format=redirect
// (302 to the viewer), as captured in cases 16 and 17.
func TestOutputFormats(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "formats")
	in := startPicbed(t, data)
	a, err := upload(in.base, key, "small.jpg", fixture(t, "small.jpg"), withField("format", "txt"))
	if err != nil || a.status != 200 || !bytes.HasPrefix(a.body, []byte(in.base+"/images/")) || bytes.ContainsAny(a.body, "\n{") {
		t.Fatalf("format=txt: %v HTTP %d %q", err, a.status, a.body)
	}
	fetchImage(t, string(a.body), "image/jpeg", 150, 103)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	a, err = upload(in.base, key, "exif-redirect.jpg", fixture(t, "photo.jpg"), withField("format", "redirect"), withClient(client))
	if err != nil {
		t.Fatal(err)
	}
	if loc := a.header.Get("Location"); a.status != http.StatusFound || loc != in.base+"/image/exif-redirect."+loc[strings.LastIndexByte(loc, '.')+1:] {
		t.Errorf("format=redirect: HTTP %d Location %q", a.status, loc)
	}
}
