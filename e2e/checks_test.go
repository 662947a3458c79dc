package e2e

// Checks several tests share: an image as served, a delete link, the files
// of a data dir's image tree.

import (
	"bytes"
	"image"
	_ "image/gif" // the decoders of served images, for every file of the package
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "golang.org/x/image/webp"
)

// fetchImage downloads url and checks its Content-Type and pixel size.
func fetchImage(t testing.TB, url, wantType string, wantW, wantH int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != wantType {
		t.Errorf("GET %s: Content-Type %q, want %q", url, ct, wantType)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: not an image: %v", url, err)
	}
	if "image/"+format != wantType && !(format == "jpeg" && wantType == "image/jpeg") {
		t.Errorf("GET %s: decodes as %s, want %s", url, format, wantType)
	}
	if wantW > 0 && (cfg.Width != wantW || cfg.Height != wantH) {
		t.Errorf("GET %s: %dx%d, want %dx%d", url, cfg.Width, cfg.Height, wantW, wantH)
	}
	return body
}

// checkDeleteLink checks that GET of a delete link only asks, POST deletes
// the image and all its files.
func checkDeleteLink(t testing.TB, deleteURL string, fileURLs ...string) {
	t.Helper()
	resp, page := get(t, deleteURL)
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("<form method=\"post\"")) {
		t.Fatalf("GET delete link: %s\n%s", resp.Status, page)
	}
	for _, u := range fileURLs {
		if resp, _ := get(t, u); resp.StatusCode != 200 {
			t.Fatalf("GET of the delete link removed %s (%s)", u, resp.Status)
		}
	}
	wrong := deleteURL[:strings.LastIndexByte(deleteURL, '/')+1] + strings.Repeat("0", 48)
	if resp, _ := do(t, mustRequest(t, "POST", wrong, nil, nil)); resp.StatusCode != 404 {
		t.Errorf("POST with a wrong token: %s, want 404", resp.Status)
	}
	if resp, _ := do(t, mustRequest(t, "POST", deleteURL, nil, nil)); resp.StatusCode != 200 {
		t.Fatalf("POST delete link: %s", resp.Status)
	}
	for _, u := range fileURLs {
		if resp, _ := get(t, u); resp.StatusCode != 404 {
			t.Errorf("after delete, GET %s: %s, want 404", u, resp.Status)
		}
	}
	if resp, _ := get(t, deleteURL); resp.StatusCode != 404 {
		t.Errorf("after delete, the delete link answers %s, want 404", resp.Status)
	}
}

// walkImages calls fn for every file of the data dir's image tree.
func walkImages(t testing.TB, data string, fn func(rel string)) {
	t.Helper()
	root := filepath.Join(data, "images")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			fn(filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
