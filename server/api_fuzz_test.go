package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"picbed/store"
)

// fuzzBoundary is the multipart boundary of FuzzAPIBody's multipart bodies.
const fuzzBoundary = "fuzzboundary"

// fuzzBodyKinds are the request shapes FuzzAPIBody sends, chosen by kind%len.
var fuzzBodyKinds = []struct {
	method, contentType string
}{
	{"POST", "multipart/form-data; boundary=" + fuzzBoundary},
	{"POST", "application/x-www-form-urlencoded"},
	{"POST", "multipart/form-data"}, // no boundary
	{"POST", "application/octet-stream"},
	{"GET", ""},
}

// FuzzAPIBody drives the whole API handler (body parsing, source resolution, parameters,
// imaging, store) over a real store with arbitrary bodies and query strings. Whatever comes
// in, the answer is HTTP 200, 302 or 400, never an internal error, and no staging file is
// left behind. Bit 7 of kind sends the real key in X-API-Key, so inputs reach the upload
// pipeline without having to contain the (per-run random) key.
func FuzzAPIBody(f *testing.F) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(f.TempDir(), store.Options{Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	srv, err := New(Config{MaxUpload: 256 << 10, MaxPixels: 1 << 16, FloodLimits: &FloodLimits{}, Duplicates: DuplicatesReuse}, st, os.DirFS("../ui"), quiet)
	if err != nil {
		f.Fatal(err)
	}
	u, err := st.CreateUser("fuzzer", "password1", false)
	if err != nil {
		f.Fatal(err)
	}
	key, _, err := st.CreateAPIKey(u.ID)
	if err != nil {
		f.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(st.ImagesDir()), "tmp")

	multipartSeed := func(fields map[string]string, name string, file []byte) []byte {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary(fuzzBoundary)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		if file != nil {
			w, _ := mw.CreateFormFile("source", name)
			w.Write(file)
		}
		mw.Close()
		return b.Bytes()
	}
	const withKey = 0x80
	for _, name := range []string{"small.png", "small.jpg", "anim.gif", "notimage.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(withKey), "", multipartSeed(map[string]string{"title": "t<b>", "width": "20", "expiration": "PT5M", "tags": "a,b"}, name, b))
		f.Add(uint8(withKey|1), "format=txt", []byte("source="+url.QueryEscape(base64.StdEncoding.EncodeToString(b))+"&nsfw=1"))
		f.Add(uint8(withKey), "format=redirect", multipartSeed(map[string]string{"source": base64.StdEncoding.EncodeToString(b)}, "", nil))
	}
	for _, name := range []string{"gif-bomb-50000x50000.gif", "png-truncated.png", "jpeg-polyglot-zip.jpg", "webp-lossless.webp"} {
		b, err := os.ReadFile(filepath.Join("..", "imaging", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(withKey), "", multipartSeed(nil, name, b))
	}
	f.Add(uint8(0), "key=nope", multipartSeed(map[string]string{"key": "x"}, "a.png", []byte("x")))
	f.Add(uint8(withKey|2), "", []byte("--x\r\n"))
	f.Add(uint8(withKey|3), "source=aGVsbG8=", []byte("raw"))
	f.Add(uint8(withKey|4), "source=aGVsbG8%3D&format=json", []byte(nil))
	f.Add(uint8(withKey|1), "", []byte("image=iVBORw0KGgo%3D&format=xml"))

	f.Fuzz(func(t *testing.T, kind uint8, query string, body []byte) {
		k := fuzzBodyKinds[int(kind&0x7f)%len(fuzzBodyKinds)]
		target := &url.URL{Path: "/api/1/upload", RawQuery: query}
		req, err := http.NewRequest(k.method, target.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		req.RemoteAddr = "192.0.2.1:1234"
		if k.contentType != "" {
			req.Header.Set("Content-Type", k.contentType)
		}
		if kind&withKey != 0 {
			req.Header.Set("X-API-Key", key)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusFound, http.StatusBadRequest:
		default:
			t.Fatalf("HTTP %d: %.300s", rec.Code, rec.Body.Bytes())
		}
		var doc struct {
			Error *struct {
				Message string `json:"message"`
				Code    int    `json:"code"`
			} `json:"error"`
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("answer is not JSON: %v: %.300q", err, rec.Body.Bytes())
			}
		}
		if doc.Error != nil && (doc.Error.Code == errInternal.Code || doc.Error.Code == errBusy.Code) {
			t.Fatalf("internal error: %s", rec.Body.Bytes())
		}
		if bytes.Equal(rec.Body.Bytes(), []byte(errInternal.Message)) {
			t.Fatal("internal error (text answer)")
		}
		entries, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Fatalf("tmp/ holds %d files after the request", len(entries))
		}
	})
}

// FuzzDecodeStrictBase64: whatever it accepts is canonical base64 of non-empty bytes
// (white space aside), and the canonical encoding of any bytes, broken into lines, is
// accepted and decodes to those bytes.
func FuzzDecodeStrictBase64(f *testing.F) {
	for _, s := range []string{"aGVsbG8=", "aGVsbG8", "aGVsbA==\n", "a GVs bG8=", "aGVsbG9=", "aGVsbG8=\x00", "", "====", "-_-_", "data:image/png;base64,iVBORw0KGgo="} {
		f.Add(s, []byte(s))
	}
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		if data, err := decodeStrictBase64(s); err == nil {
			compact := strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) {
					return -1
				}
				return r
			}, s)
			if len(data) == 0 || base64.StdEncoding.EncodeToString(data) != compact {
				t.Fatalf("accepted %q as %q, whose encoding is %q", s, data, base64.StdEncoding.EncodeToString(data))
			}
		}
		if len(raw) == 0 {
			return
		}
		enc := base64.StdEncoding.EncodeToString(raw)
		var lines strings.Builder
		for i := 0; i < len(enc); i += 76 {
			lines.WriteString(enc[i:min(i+76, len(enc))])
			lines.WriteString("\r\n")
		}
		data, err := decodeStrictBase64(lines.String())
		if err != nil || !bytes.Equal(data, raw) {
			t.Fatalf("canonical base64 of %q: %q, %v", raw, data, err)
		}
	})
}

// FuzzParseExpiration: an accepted expiration is within (0, 1 year]; plain positive
// seconds are exact up to a year and clamp above it.
func FuzzParseExpiration(f *testing.F) {
	for _, s := range []string{"PT5M", "P3D", "P1Y2M3W4DT5H6M7S", "300", "0", "-5", "P", "PT", "P1", "p1d", "9223372036854775807", "99999999999999999999", "P999999999Y", "P9999999999D", "PT1H1H", "P1DT", " 60 ", "+60"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseExpiration(s)
		if ok && (d <= 0 || d > maxExpiry) {
			t.Fatalf("parseExpiration(%q) = %v, outside (0, %v]", s, d, maxExpiry)
		}
		if !ok && d != 0 {
			t.Fatalf("parseExpiration(%q) refused with %v", s, d)
		}
		v := strings.TrimSpace(s)
		if v != "" && strings.Trim(v, "0123456789") == "" {
			n, err := strconv.ParseUint(v, 10, 64)
			switch {
			case err != nil || n > uint64(maxExpiry/time.Second):
				if !ok || d != maxExpiry {
					t.Fatalf("parseExpiration(%q) = %v %v, want clamped to %v", s, d, ok, maxExpiry)
				}
			case n == 0:
				if ok {
					t.Fatalf("parseExpiration(%q) = %v, want refused", s, d)
				}
			default:
				if !ok || d != time.Duration(n)*time.Second {
					t.Fatalf("parseExpiration(%q) = %v %v, want %ds", s, d, ok, n)
				}
			}
		}
	})
}

// FuzzSlug: a slug is what a URL path segment can hold without escaping, and the
// viewer can find the id after it: [a-z0-9-], no leading, trailing or double dash, at
// most 60 bytes.
func FuzzSlug(f *testing.F) {
	for _, s := range []string{"My Holiday Photo", "Straße über Äpfel", "截图 2022", "the a an", "--x__y--", "<script>alert(1)</script>", "a.b.c", strings.Repeat("word ", 30), "\u202eevil", "ÅÉÎÕÜ ǅ ﬁ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, title string) {
		s := slug(title)
		if len(s) > maxSlugBytes || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("slug(%q) = %q", title, s)
		}
		for _, c := range []byte(s) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("slug(%q) = %q holds %q", title, s, c)
			}
		}
		p := viewerPath(title, "Xy3")
		seg := strings.TrimPrefix(p, "/image/")
		if seg[strings.LastIndexByte(seg, '.')+1:] != "Xy3" {
			t.Fatalf("viewerPath(%q) = %q: the id is not the last part", title, p)
		}
	})
}

// FuzzTitleFromName: a title derived from a file name has no "-", "_" or white space but
// single spaces between words, and deriving it again changes nothing.
func FuzzTitleFromName(f *testing.F) {
	for _, s := range []string{"my-holiday_photo", "  a  b ", "__", "IMG_2024-01-01", "a\u00a0b\u2003c", "\xff\xfe", "截图_2022"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		title := titleFromName(name)
		if strings.ContainsAny(title, "-_") || strings.HasPrefix(title, " ") || strings.HasSuffix(title, " ") || strings.Contains(title, "  ") {
			t.Fatalf("titleFromName(%q) = %q", name, title)
		}
		for _, r := range title {
			if r != ' ' && unicode.IsSpace(r) {
				t.Fatalf("titleFromName(%q) = %q holds space %U", name, title, r)
			}
		}
		if again := titleFromName(title); again != title {
			t.Fatalf("titleFromName(%q) = %q, then %q", name, title, again)
		}
	})
}

// FuzzAppendPHPString: the output is a valid JSON string of ASCII only, with no "/"
// unescaped (so never "</script>"), that decodes to the input with each invalid UTF-8 byte
// as U+FFFD.
func FuzzAppendPHPString(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \back\slash/`, "</script><!--", "\x00\x1f\x7f", "é中😀", "\u2028\u2029", "\xff\xfe\xc3", "\U0010FFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendPHPString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendPHPString(%q) = %s: not JSON: %v", s, b, err)
		}
		want := s
		if !utf8.ValidString(s) {
			var w strings.Builder
			for _, r := range s {
				w.WriteRune(r)
			}
			want = w.String()
		}
		if got != want {
			t.Fatalf("appendPHPString(%q) = %s, decodes to %q", s, b, got)
		}
		for i, c := range b {
			if c >= utf8.RuneSelf || c < 0x20 {
				t.Fatalf("appendPHPString(%q) = %q: raw byte %#x", s, b, c)
			}
			if c == '/' && b[i-1] != '\\' {
				t.Fatalf("appendPHPString(%q) = %s: unescaped /", s, b)
			}
		}
	})
}
