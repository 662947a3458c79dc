package server

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Patterns of the literal UI strings in templates, scripts and handlers.
var (
	templateKey = regexp.MustCompile(`\.T "((?:[^"\\]|\\.)*)"`)
	scriptKey   = regexp.MustCompile(`\bt\("((?:[^"\\]|\\.)*)"`)
	// s.t(v, "..."), s.t(visitorOf(c), "...") and echo errors shown as pages.
	goKey = regexp.MustCompile(`(?:\bs\.t\([^,()]*(?:\([^()]*\))?, |echo\.NewHTTPError\(http\.\w+, )"((?:[^"\\]|\\.)*)"`)
	// embed.js and similar tables hand labels to t() indirectly.
	scriptLabel = regexp.MustCompile(`\b(?:label|group): "((?:[^"\\]|\\.)*)"`)
)

// TestTranslationsComplete checks that every literal UI string of the
// templates, scripts and page handlers has a Simplified Chinese entry, and
// that the catalog loads (no key defined twice, none empty).
func TestTranslationsComplete(t *testing.T) {
	ui := os.DirFS("../ui")
	cat, err := loadCatalog(ui)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	check := func(file string, re *regexp.Regexp, text string) {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			key, err := strconv.Unquote(`"` + m[1] + `"`)
			if err != nil {
				t.Errorf("%s: cannot read %q: %v", file, m[1], err)
				continue
			}
			if _, ok := cat.zh[key]; !ok {
				missing = append(missing, file+": "+key)
			}
		}
	}
	count := 0
	walk := func(dir, ext string, res ...*regexp.Regexp) {
		err := fs.WalkDir(ui, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ext) {
				return err
			}
			b, err := fs.ReadFile(ui, p)
			if err != nil {
				return err
			}
			count++
			for _, re := range res {
				check(p, re, string(b))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk("templates", ".html", templateKey)
	walk("static", ".js", scriptKey, scriptLabel)
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range gofiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		count++
		check(f, goKey, string(b))
	}
	// Status lines of error pages.
	for _, code := range []int{400, 401, 403, 404, 405, 413, 429, 500} {
		if _, ok := cat.zh[http.StatusText(code)]; !ok {
			missing = append(missing, "status: "+http.StatusText(code))
		}
	}
	if count < 10 {
		t.Fatalf("only %d files scanned: the test no longer finds the UI", count)
	}
	slices.Sort(missing)
	for _, m := range slices.Compact(missing) {
		t.Errorf("no Chinese translation: %s", m)
	}
}

// TestTranslationFilesAreFlat checks the shape of every table: a flat
// object of strings whose {placeholders} match the English key's.
func TestTranslationFilesAreFlat(t *testing.T) {
	files, err := filepath.Glob("../ui/i18n/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no translation files: %v", err)
	}
	ph := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var table map[string]string
		if err := json.Unmarshal(b, &table); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for k, v := range table {
			a, b := ph.FindAllString(k, -1), ph.FindAllString(v, -1)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s: %q has placeholders %v, its translation %q has %v", filepath.Base(f), k, a, v, b)
			}
		}
	}
}
