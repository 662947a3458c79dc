package e2e

import (
	"bytes"
	"encoding/json"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPicGo uploads with the real PicGo 3.1.0 and its web-uploader plugin,
// configured as clients.md describes for Chevereto hosts, and checks that
// the URLs PicGo returns serve the uploaded images. .ci/run installs PicGo
// and sets PICBED_REQUIRE_PICGO=1, which turns the skip into a failure.
func TestPicGo(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "picgo")
	in := startPicbed(t, data)
	body, _ := json.Marshal(map[string]string{"key": key, "format": "json"})
	config, _ := json.Marshal(map[string]any{
		"picBed": map[string]any{
			"current": "web-uploader", "uploader": "web-uploader",
			"web-uploader": map[string]string{
				"url": in.base + "/api/1/upload", "paramName": "source", "jsonPath": "image.url",
				"customBody": string(body), "customHeader": "{}",
			},
		},
		"picgoPlugins": map[string]bool{"picgo-plugin-web-uploader": true},
	})

	files := []struct{ name, mime string }{{"photo.jpg", "image/jpeg"}, {"photo.png", "image/png"}, {"anim.gif", "image/gif"}}
	urls, out := runPicGo(t, config, "photo.jpg", "photo.png", "anim.gif")
	if len(urls) != len(files) {
		t.Fatalf("picgo returned %d results, want %d:\n%s", len(urls), len(files), out)
	}
	for i, f := range files {
		u := urls[i]
		if !strings.HasPrefix(u, in.base+"/images/") {
			t.Errorf("%s: picgo got URL %q\n%s", f.name, u, out)
			continue
		}
		got := fetchImage(t, u, f.mime, 0, 0)
		orig := fixture(t, f.name)
		if f.mime == "image/jpeg" {
			// EXIF was stripped losslessly: other bytes, the same pixels.
			if bytes.Equal(got, orig) {
				t.Errorf("%s: served bytes still carry the EXIF block", f.name)
			}
			samePixels(t, orig, got)
		} else if !bytes.Equal(got, orig) {
			t.Errorf("%s: served bytes differ from the uploaded file", f.name)
		}
	}
}

// picgoBin returns the PicGo command .ci/run installs under
// PICBED_PICGO_DIR, or skips the test (fails it with PICBED_REQUIRE_PICGO).
func picgoBin(t *testing.T) (dir, bin string) {
	t.Helper()
	dir = os.Getenv("PICBED_PICGO_DIR")
	bin = filepath.Join(dir, "node_modules", ".bin", "picgo")
	if _, err := os.Stat(bin); dir == "" || err != nil {
		msg := "PicGo is not installed: run .ci/run, or npm install --prefix DIR picgo@3.1.0 picgo-plugin-web-uploader@1.1.1 and set PICBED_PICGO_DIR=DIR"
		if os.Getenv("PICBED_REQUIRE_PICGO") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir, bin
}

// runPicGo uploads the named fixtures with PicGo's CLI, under a new HOME
// whose PicGo config.json is config and whose plugins are PicGo's
// web-uploader, and returns the image URLs PicGo reports and its output.
// PicGo exits 0 even on failure; its result is the JSON line on stdout.
func runPicGo(t *testing.T, config []byte, fixtures ...string) (urls []string, out []byte) {
	t.Helper()
	return runPicGoWith(t, config, map[string]string{"picgo-plugin-web-uploader": "1.1.1"}, fixtures...)
}

// picgoHome makes a HOME for PicGo whose config.json is config and whose
// plugins (name -> version, installed under PICBED_PICGO_DIR) are plugins,
// with the named fixtures in it; it returns the HOME and the fixtures' paths.
func picgoHome(t *testing.T, dir string, config []byte, plugins map[string]string, fixtures ...string) (home string, paths []string) {
	t.Helper()
	// PicGo loads plugins from its config folder's package.json and
	// node_modules.
	home = t.TempDir()
	cfgDir := filepath.Join(home, ".picgo")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(cfgDir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	for name := range plugins {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", name)); err != nil {
			msg := "PicGo plugin " + name + " is not installed under PICBED_PICGO_DIR: run .ci/run"
			if os.Getenv("PICBED_REQUIRE_PICGO") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	writeJSON(t, filepath.Join(cfgDir, "package.json"), map[string]any{
		"name": "picgo-plugins", "version": "1.0.0", "dependencies": plugins,
	})
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range fixtures {
		p := filepath.Join(home, name)
		if err := os.WriteFile(p, fixture(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return home, paths
}

// runPicGoWith is runPicGo with the given plugins.
func runPicGoWith(t *testing.T, config []byte, plugins map[string]string, fixtures ...string) (urls []string, out []byte) {
	t.Helper()
	dir, bin := picgoBin(t)
	home, paths := picgoHome(t, dir, config, plugins, fixtures...)
	cmd := exec.Command(bin, append([]string{"upload", "--format", "json"}, paths...)...)
	cmd.Env = append(cleanEnv(), "HOME="+home)
	cmd.Dir = home
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("picgo: %v\n%s", err, out)
	}
	t.Logf("picgo took %v:\n%s", time.Since(start), out)
	var results []struct {
		ImgURL string `json:"imgUrl"`
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "[{") {
			if err := json.Unmarshal([]byte(line), &results); err != nil {
				t.Fatalf("picgo result line: %v\n%s", err, out)
			}
		}
	}
	for _, r := range results {
		urls = append(urls, r.ImgURL)
	}
	return urls, out
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// samePixels fails unless a and b decode to the same pixels.
func samePixels(t testing.TB, a, b []byte) {
	t.Helper()
	ia, _, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("bounds %v vs %v", ia.Bounds(), ib.Bounds())
	}
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if ia.At(x, y) != ib.At(x, y) {
				t.Fatalf("pixel (%d,%d) differs: %v vs %v", x, y, ia.At(x, y), ib.At(x, y))
			}
		}
	}
}
