package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picbed/ingest"
	"picbed/server/api/chevereto"
	"picbed/server/site"
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
	srv, err := New(Config{Site: site.Config{MaxPixels: 1 << 16, FloodLimits: &site.FloodLimits{}}, Settings: site.Settings{MaxUpload: 256 << 10, Duplicates: ingest.DuplicatesReuse}}, Deps{Store: st, UI: os.DirFS("../ui"), Log: quiet})
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
	// What the API answers for an error no room names, and for a full
	// decode queue: neither may ever come of a request's bytes.
	internal := chevereto.Describe(errors.New("fuzz: unnamed"), quiet)
	busy := chevereto.Describe(ingest.ErrBusy, quiet)
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
		if doc.Error != nil && (doc.Error.Code == internal.Code || doc.Error.Code == busy.Code) {
			t.Fatalf("internal error: %s", rec.Body.Bytes())
		}
		if bytes.Equal(rec.Body.Bytes(), []byte(internal.Message)) {
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
