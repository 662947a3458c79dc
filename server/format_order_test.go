package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"picbed/ingest"
	"picbed/server/site"
)

// TestErrorFormatDoesNotDependOnFieldOrder: every refusal of the API is
// answered in the format the request asked for (format=txt or redirect:
// the bare message with HTTP 200), wherever it put the format field:
// before the other parts, after the file, or in the query. Before, a
// refusal that came before the format part was read (a wrong key, a file
// over the limit) was answered with JSON and HTTP 400.
func TestErrorFormatDoesNotDependOnFieldOrder(t *testing.T) {
	h := newTestHost(t, Config{
		Site:     site.Config{FloodLimits: &site.FloodLimits{}, MaxKeyFailures: -1},
		Settings: site.Settings{MaxUpload: 100_000, Duplicates: ingest.DuplicatesReject},
	})
	png := readTestdata(t, "small.png")
	if status, _, raw := h.post(t, nil, "first.png", png, nil); status != 200 {
		t.Fatalf("first upload: %d %s", status, raw)
	}
	type part struct{ name, file, value string }
	key := part{"key", "", h.key}
	many := make([]part, 70)
	for i := range many {
		many[i] = part{fmt.Sprintf("f%d", i), "", "x"}
	}
	blocked := newTestHost(t, Config{Site: site.Config{MaxKeyFailures: 1, KeyFailureDelay: -1}})
	blocked.post(t, map[string]string{"key": "nope"}, "a.png", png, nil)
	for _, tc := range []struct {
		name   string
		h      *testHost
		path   string
		header http.Header
		parts  []part // the request without format
		want   string
	}{
		{"address blocked for wrong keys", blocked, "/api/1/upload", nil, []part{{"key", "", "nope"}, {"source", "a.png", string(png)}}, "Too many failed API key attempts. Try again later."},
		{"wrong key", nil, "/api/1/upload", nil, []part{{"key", "", "nope"}, {"source", "a.png", string(png)}}, "Invalid API v1 key."},
		{"wrong key in the header", nil, "/api/1/upload", http.Header{"X-API-Key": {"nope"}}, []part{{"source", "a.png", string(png)}}, "Invalid API v1 key."},
		{"no key", nil, "/api/1/upload", nil, []part{{"source", "a.png", string(png)}}, "Invalid API v1 key."},
		{"bad version", nil, "/api/2/upload", nil, []part{key, {"source", "a.png", string(png)}}, "Invalid API version."},
		{"bad action", nil, "/api/1/delete", nil, []part{key, {"source", "a.png", string(png)}}, "Invalid API action."},
		{"empty source", nil, "/api/1/upload", nil, []part{key}, "Empty upload source."},
		{"not an image", nil, "/api/1/upload", nil, []part{key, {"source", "a.txt", "hello, this is text"}}, "Can't get target upload source info"},
		{"file too big", nil, "/api/1/upload", nil, []part{key, {"source", "big.png", string(readTestdata(t, "noise300.png"))}}, "File too big - max 100 KB"},
		{"too many pixels", nil, "/api/1/upload", nil, []part{key, {"source", "huge.png", string(pngHeader(20000, 20000))}}, "Image too large - max 50 megapixels"},
		{"bad base64", nil, "/api/1/upload", nil, []part{key, {"source", "", "bm90IGJhc2U2NA=x"}}, "Invalid base64 string."},
		{"URL uploads off", nil, "/api/1/upload", nil, []part{key, {"source", "", "http://example.com/a.png"}}, "URL uploading is forbidden"},
		{"duplicate", nil, "/api/1/upload", nil, []part{key, {"source", "again.png", string(png)}}, "Duplicated upload"},
		{"too many fields", nil, "/api/1/upload", nil, append([]part{key}, many...), "Too many request fields"},
		{"field too long", nil, "/api/1/upload", nil, []part{key, {"title", "", strings.Repeat("t", site.MaxFieldBytes+1)}}, "Request field too long"},
	} {
		for _, format := range []string{"txt", "redirect"} {
			for _, where := range []string{"first", "last", "query"} {
				parts := tc.parts
				path := tc.path
				host := h
				if tc.h != nil {
					host = tc.h
				}
				switch where {
				case "first":
					parts = append([]part{{"format", "", format}}, parts...)
				case "last":
					parts = append(append([]part(nil), parts...), part{"format", "", format})
				case "query":
					path += "?format=" + format
				}
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				for _, p := range parts {
					if p.file != "" {
						w, _ := mw.CreateFormFile(p.name, p.file)
						io.WriteString(w, p.value)
					} else {
						mw.WriteField(p.name, p.value)
					}
				}
				mw.Close()
				req, _ := http.NewRequest("POST", host.http.URL+path, &body)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				for k, v := range tc.header {
					req.Header[k] = v
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || string(raw) != tc.want {
					var doc map[string]any
					json.Unmarshal(raw, &doc)
					t.Errorf("%s, format=%s %s: %d %s %q, want 200 text %q", tc.name, format, where, resp.StatusCode, resp.Header.Get("Content-Type"), raw, tc.want)
				}
			}
		}
	}
}
