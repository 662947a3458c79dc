package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// noFollow is a client that reports redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func getRaw(t *testing.T, base, rawPath string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = rawPath // sent exactly as written
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	inlineMarkup = regexp.MustCompile(`(?i)\son[a-z]+\s*=|\sstyle\s*=|<style\b|javascript:`)
)

// inlineCode returns the first inline script, handler or style in an HTML
// page, which the pages' CSP would block, or "".
func inlineCode(page string) string {
	for _, m := range scriptTag.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(strings.ToLower(m[1]), "src=") || strings.TrimSpace(m[2]) != "" {
			return m[0]
		}
	}
	return inlineMarkup.FindString(page)
}

func TestPageSecurityHeaders(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	status, doc, raw := h.post(t, map[string]string{"title": "Headers test"}, "small.png", readTestdata(t, "small.png"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	img := imageOf(t, doc, raw)
	viewer, _ := url.Parse(img["url_viewer"].(string))
	del, _ := url.Parse(img["delete_url"].(string))
	for _, page := range []struct {
		name, path string
		status     int
	}{
		{"home", "/", 200},
		{"viewer", viewer.Path, 200},
		{"delete confirmation", del.Path, 200},
		{"not found", "/image/nosuch.zzzzz", 404},
		{"unknown route", "/nope", 404},
	} {
		t.Run(page.name, func(t *testing.T) {
			resp, body := getRaw(t, h.http.URL, page.path)
			if resp.StatusCode != page.status {
				t.Fatalf("GET %s: %d, want %d", page.path, resp.StatusCode, page.status)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "style-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			for _, src := range strings.Fields(strings.ReplaceAll(csp, ";", " ")) {
				switch src {
				case "'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:":
					t.Errorf("CSP %q allows %s", csp, src)
				}
			}
			if !strings.Contains(csp, "img-src 'self' data: blob: "+h.http.URL+";") {
				t.Errorf("CSP %q: images only from the site and the image host", csp)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "strict-origin-when-cross-origin",
				"Cache-Control":          "no-store",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			// The CSP forbids inline code and style: the pages must not
			// need any.
			if m := inlineCode(body); m != "" {
				t.Errorf("page has inline script or style: %q", m)
			}
		})
	}
	// The delete confirmation is not indexed.
	if resp, _ := getRaw(t, h.http.URL, del.Path); resp.Header.Get("X-Robots-Tag") != "noindex" {
		t.Errorf("delete page X-Robots-Tag %q", resp.Header.Get("X-Robots-Tag"))
	}
}

// TestRedirectsStayOnSite tries to turn the viewer's canonical redirect
// (and any other redirect) into a redirect elsewhere.
func TestRedirectsStayOnSite(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	mustAdmin(t, h)
	var ids []string
	for _, title := range []string{"//evil.example/x", `\\evil.example`, "/%2F%2Fevil.example", "http://evil.example", "plain"} {
		status, doc, raw := h.post(t, map[string]string{"title": title}, "small.png", readTestdata(t, "small.png"), nil)
		if status != 200 {
			t.Fatalf("%d %s", status, raw)
		}
		ids = append(ids, imageOf(t, doc, raw)["id_encoded"].(string))
	}
	var paths []string
	for _, id := range ids {
		paths = append(paths,
			"/image/"+id,
			"/image/x."+id,
			"/image/"+id+"/",
			"/image/x."+id+"//evil.example",
			"//evil.example/image/"+id,
			"/image/%2F%2Fevil.example."+id,
			"/image/%2f%2fevil.example%2f."+id,
			"/image/%5C%5Cevil.example."+id,
			"/image/..%2F..%2F%2Fevil.example."+id,
			"/image/%0d%0aLocation:%20http:%2F%2Fevil.example."+id,
			"/image/"+id+"?next=//evil.example",
			"/image/"+id+"/delete/x?redirect=http://evil.example",
		)
	}
	paths = append(paths, "/static/..%2F..%2F//evil.example", "/api/1/upload/?x=//evil.example", "//evil.example", "/%2F%2Fevil.example")
	redirects := 0
	for _, p := range paths {
		resp, _ := getRaw(t, h.http.URL, p)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			if loc != "" {
				t.Errorf("GET %s: %d with Location %q", p, resp.StatusCode, loc)
			}
			continue
		}
		redirects++
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(loc, "/image/") ||
			strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\r\n") {
			t.Errorf("GET %s: %d to %q, want a same-site /image/ path", p, resp.StatusCode, loc)
		}
	}
	if redirects < len(ids) {
		t.Errorf("only %d redirects seen: the test no longer reaches the canonical redirect", redirects)
	}
	// A refused API upload with format=redirect answers the message, it
	// does not redirect.
	req, _ := http.NewRequest("GET", h.http.URL+"/api/1/upload?format=redirect&key="+h.key+"&source="+url.QueryEscape("http://evil.example/x.png"), nil)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("refused upload with format=redirect redirects to %q", loc)
	}
}

func TestDeleteTokensRevealNothing(t *testing.T) {
	h := newTestHost(t, Config{})
	var tokens []string
	var ids []uint64
	for _, name := range []string{"small.png", "photo.png"} {
		status, doc, raw := h.post(t, nil, name, readTestdata(t, name), nil)
		if status != 200 {
			t.Fatalf("%d %s", status, raw)
		}
		img := imageOf(t, doc, raw)
		du := img["delete_url"].(string)
		tokens = append(tokens, du[strings.LastIndexByte(du, '/')+1:])
		id, ok := h.store.DecodeID(img["id_encoded"].(string))
		if !ok {
			t.Fatalf("id %v", img["id_encoded"])
		}
		ids = append(ids, id)
	}
	a, b := tokens[0], tokens[1]
	if len(a) != 48 || len(b) != 48 || a == b {
		t.Fatalf("tokens %q %q", a, b)
	}
	// Unrelated: about half the hex digits of two HMACs agree by chance
	// only 1 in 16 times each; a shared prefix or suffix would show.
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	if same > 12 {
		t.Errorf("tokens %s and %s agree in %d of 48 positions", a, b, same)
	}
	// No part of the key (8 hex characters or more) appears in a token.
	secret := strings.TrimPrefix(h.key, "pb_")
	for _, tok := range tokens {
		for i := 0; i+8 <= len(secret); i++ {
			if strings.Contains(tok, secret[i:i+8]) {
				t.Errorf("token %s contains %q of the API key", tok, secret[i:i+8])
			}
		}
	}
	// The token depends on a per-install secret: another install gives
	// image 1 another token.
	other, err := store.Open(t.TempDir(), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mine := ids[0]
	if other.DeleteToken(mine) == a {
		t.Error("two installs give the same delete token for the same id")
	}
	// Tokens are checked whole: a prefix, upper case or another image's
	// token do not delete.
	if h.store.CheckDeleteToken(mine, a[:47]) || h.store.CheckDeleteToken(mine, strings.ToUpper(a)) || h.store.CheckDeleteToken(mine, b) {
		t.Error("a wrong token was accepted")
	}
	if !h.store.CheckDeleteToken(mine, a) {
		t.Error("the right token was refused")
	}
}

// TestCompression checks that pages and static assets are gzipped for
// browsers that ask, and that API answers and image files never are.
func TestCompression(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	status, doc, raw := h.post(t, nil, "small.png", readTestdata(t, "small.png"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	img := imageOf(t, doc, raw)
	get := func(u string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		// A bare transport: http.Client would decompress and hide the encoding.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get(h.http.URL+"/login", "Accept-Language", "zh-CN")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("login page: Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(page), "保持登录") {
		t.Fatalf("login page does not decompress to the page: %v", err)
	}
	t.Logf("Chinese login page: %d bytes, %d gzipped", len(page), len(body))
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("gzipped page lost its CSP: %q", csp)
	}
	m := regexp.MustCompile(`src="(/static/[^"]+/app\.js)"`).FindStringSubmatch(string(page))
	if m == nil {
		t.Fatal("no app.js on the page")
	}
	if resp, _ := get(h.http.URL + m[1]); resp.Header.Get("Content-Encoding") != "gzip" || resp.StatusCode != 200 {
		t.Errorf("app.js: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if resp, b := get(h.http.URL+m[1], "Range", "bytes=0-9"); resp.StatusCode != http.StatusPartialContent || len(b) != 10 || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("range of app.js: %d, %d bytes, Content-Encoding %q", resp.StatusCode, len(b), resp.Header.Get("Content-Encoding"))
	}
	for _, u := range []string{img["url"].(string), img["thumb"].(map[string]any)["url"].(string)} {
		if resp, _ := get(u); resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("image %s sent with Content-Encoding %q", u, resp.Header.Get("Content-Encoding"))
		}
	}
	req, _ := http.NewRequest("POST", h.http.URL+"/api/1/upload", strings.NewReader("key="+h.key+"&source=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("API answer sent with Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
}
