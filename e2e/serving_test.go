package e2e

// How image files are served: headers, conditional and range answers,
// paths that must not resolve, the viewer's short URL.

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestImageServing checks the headers and conditional answers of image files.
func TestImageServing(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "frank")
	in := startPicbed(t, data)
	a, err := upload(in.base, key, "photo.jpg", fixture(t, "photo.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img := decodeAPI(t, a.body).Image
	resp, full := get(t, img.URL)
	h := resp.Header
	for k, want := range map[string]string{
		"Content-Type":            "image/jpeg",
		"Cache-Control":           "public, max-age=31536000, immutable",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "sandbox",
		"Accept-Ranges":           "bytes",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	etag, lastMod := h.Get("ETag"), h.Get("Last-Modified")
	if !strings.HasPrefix(etag, `"`) || lastMod == "" {
		t.Fatalf("ETag %q Last-Modified %q", etag, lastMod)
	}
	if resp, b := do(t, mustRequest(t, "GET", img.URL, nil, map[string]string{"If-None-Match": etag})); resp.StatusCode != 304 || len(b) != 0 {
		t.Errorf("If-None-Match: %s with %d bytes", resp.Status, len(b))
	}
	if resp, _ := do(t, mustRequest(t, "GET", img.URL, nil, map[string]string{"If-Modified-Since": lastMod})); resp.StatusCode != 304 {
		t.Errorf("If-Modified-Since: %s", resp.Status)
	}
	if resp, b := do(t, mustRequest(t, "GET", img.URL, nil, map[string]string{"Range": "bytes=10-19"})); resp.StatusCode != 206 || !bytes.Equal(b, full[10:20]) {
		t.Errorf("Range: %s %d bytes", resp.Status, len(b))
	}
	if resp, b := do(t, mustRequest(t, "HEAD", img.URL, nil, nil)); resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(len(full)) {
		t.Errorf("HEAD: %s %d bytes, length %d", resp.Status, len(b), resp.ContentLength)
	}
	for _, p := range []string{"/images/../picbed.db", "/images/2026/01/01/x.html", "/images/picbed.db", "/images/" + strings.Repeat("../", 5) + "etc/passwd", "/images/2026/11/27/nope.jpg"} {
		req := mustRequest(t, "GET", in.base+"/", nil, nil)
		req.URL.Path = p
		req.URL.RawPath = p
		if resp, _ := do(t, req); resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	// Viewer: the short URL redirects to the canonical one.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := client.Get(img.URLShort)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 301 || in.base+r.Header.Get("Location") != img.URLViewer {
		t.Errorf("short URL: %s to %q, want 301 to %s", r.Status, r.Header.Get("Location"), img.URLViewer)
	}
	if resp, _ := get(t, in.base+"/image/nosuch.zzzzz"); resp.StatusCode != 404 {
		t.Errorf("unknown image: %s", resp.Status)
	}
}
