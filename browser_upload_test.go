package main

// Browser test of the upload page (spec 6): a user logs in, queues three
// files through the file input and one by paste, uploads them, watches the
// progress heading reach "Upload complete" and reads the Markdown embed
// codes; the page in Simplified Chinese; a guest refused while guest
// uploads are off.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitPage polls the JavaScript condition cond in the page until it is
// true, failing the test after d with what the page shows.
func waitPage(b *browser, what, cond string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for !evalJS[bool](b, "!!("+cond+")") {
		if time.Now().After(deadline) {
			b.fail(fmt.Errorf("%s: still not true after %v: %s", what, d, cond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browserLogin logs in through the login form and waits for the upload page.
func browserLogin(b *browser, base, name, password string) {
	b.t.Helper()
	b.navigate(base + "/login")
	b.browse(
		chromedp.SendKeys(`input[name=login]`, name),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
	)
	waitPage(b, "logged in", `location.pathname === "/" && document.readyState === "complete" && document.querySelector("[data-upload-input]")`, 10*time.Second)
}

var markdownImage = regexp.MustCompile(`^!\[[^\]]*\]\((http://[^)]+)\)$`)

func TestBrowserUpload(t *testing.T) {
	data := t.TempDir()
	picbed(t, "boss-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	in := startPicbed(t, data)
	b := newBrowser(t, desktopViewport)
	browserLogin(b, in.base, "boss", "boss-password")

	// Three files through the file input.
	dir := t.TempDir()
	files := []struct {
		name string
		w, h int
	}{{"photo.jpg", 0, 0}, {"small.png", 0, 0}, {"image.webp", 0, 0}}
	var paths []string
	for i, f := range files {
		raw := fixture(t, f.name)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		files[i].w, files[i].h = cfg.Width, cfg.Height
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	b.setFiles("[data-upload-input]", paths...)
	waitPage(b, "three queued items", `document.querySelectorAll("[data-upload-item][data-state=queued]").length === 3`, 10*time.Second)

	// One by paste: a clipboard image arrives as image.png.
	pasted := tinyPNG(t, 40, 30, color.NRGBA{200, 30, 90, 255})
	if !b.pasteFiles("", pageFile{"image.png", "image/png", pasted}) {
		t.Error("the upload page did not take the pasted image (no preventDefault)")
	}
	waitPage(b, "four queued items", `document.querySelectorAll("[data-upload-item][data-state=queued]").length === 4`, 10*time.Second)
	// Previews are drawn upright from the files themselves.
	waitPage(b, "previews", `document.querySelectorAll("[data-upload-item] .pic canvas").length === 4`, 10*time.Second)

	// Upload, recording every heading the page shows on the way.
	evalJS[chromedp.Void](b, `(() => {
	const h = document.querySelector("[data-upload-heading]");
	window.__headings = [h.textContent];
	new MutationObserver(() => window.__headings.push(h.textContent)).observe(h, {childList: true, characterData: true, subtree: true});
})()`)
	b.browse(chromedp.Click("[data-upload-start]"))
	waitPage(b, "upload complete", `document.querySelector("[data-upload-heading]").textContent === "Upload complete"`, 30*time.Second)
	headings := evalJS[[]string](b, `window.__headings`)
	sawProgress := false
	for _, h := range headings {
		if regexp.MustCompile(`^Uploading 4 files \(\d+% complete\)$`).MatchString(h) {
			sawProgress = true
		}
	}
	if !sawProgress {
		t.Errorf("no \"Uploading 4 files (P%% complete)\" heading on the way: %q", headings)
	}
	if n := evalJS[int](b, `document.querySelectorAll("[data-upload-item][data-state=done]").length`); n != 4 {
		t.Fatalf("%d items done, want 4; states: %v", n, evalJS[[]string](b, `[...document.querySelectorAll("[data-upload-item]")].map(li => li.dataset.state + " " + li.textContent)`))
	}
	if sub := evalJS[string](b, `document.querySelector("[data-upload-sub]").textContent`); sub != "Uploaded content added to boss's images. You can create new album with the content just uploaded." {
		t.Errorf("sentence under the heading: %q", sub)
	}
	// Each item links its viewer page.
	if n := evalJS[int](b, `[...document.querySelectorAll("[data-upload-item] .status a.ok")].filter(a => a.href.includes("/image/")).length`); n != 4 {
		t.Errorf("%d items link their viewer page, want 4", n)
	}

	// The Markdown embed code lists all four, and each URL serves its image.
	code := evalJS[string](b, `(() => {
	const s = document.querySelector("[data-upload-results] select[data-embed-format]");
	s.value = "markdown-embed";
	s.dispatchEvent(new Event("change"));
	return document.querySelector("[data-upload-results] textarea[data-embed-code]").value;
})()`)
	lines := strings.Split(strings.TrimSpace(code), "\n")
	if len(lines) != 4 {
		t.Fatalf("Markdown embed code has %d lines, want 4:\n%s", len(lines), code)
	}
	got := map[[2]int]int{}
	for _, line := range lines {
		m := markdownImage.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(m[1], in.base+"/images/") {
			t.Errorf("Markdown line %q is not ![...](%s/images/...)", line, in.base)
			continue
		}
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", m[1], resp.Status)
			continue
		}
		img, format, err := image.Decode(bytes.NewReader(body))
		if err != nil {
			t.Errorf("GET %s: not an image: %v", m[1], err)
			continue
		}
		sz := img.Bounds().Size()
		got[[2]int{sz.X, sz.Y}]++
		t.Logf("%s: %s %dx%d", m[1], format, sz.X, sz.Y)
	}
	for _, f := range files {
		if got[[2]int{f.w, f.h}] == 0 {
			t.Errorf("no uploaded image of %dx%d (%s) among %v", f.w, f.h, f.name, got)
		}
	}
	if got[[2]int{40, 30}] == 0 {
		t.Errorf("the pasted 40x30 image is not among %v", got)
	}
	b.assertNoJSErrors()

	// 简体中文 through the footer's language select: the upload page is
	// translated.
	b.browse(chromedp.SetValue(`select[name=lang]`, "zh-CN"))
	evalJS[chromedp.Void](b, `document.querySelector("select[name=lang]").dispatchEvent(new Event("change"))`)
	waitPage(b, "Chinese page", `document.documentElement.lang === "zh-CN" && document.readyState === "complete"`, 10*time.Second)
	if h := evalJS[string](b, `document.querySelector("[data-upload-heading]").textContent`); h != "上传图片" {
		t.Errorf("Chinese upload page heading %q, want 上传图片", h)
	}
	if s := evalJS[string](b, `document.querySelector("[data-upload-start]").textContent + " | " + document.querySelector("[data-upload-limits]").textContent`); !strings.Contains(s, "上传") || !strings.Contains(s, "最大") {
		t.Errorf("Chinese upload controls: %q", s)
	}
	b.assertNoJSErrors()

	// Logged out, with guest uploads off (the default): the page asks to log
	// in, and an upload sent anyway is refused.
	b.browse(chromedp.Click(`form[action="/logout"] button`))
	waitPage(b, "logged out", `document.readyState === "complete" && !document.querySelector("form[action='/logout']")`, 10*time.Second)
	b.navigate(in.base + "/")
	if h := evalJS[string](b, `document.querySelector("[data-upload-heading]").textContent`); h != "登录后上传" {
		t.Errorf("guest page heading %q, want 登录后上传", h)
	}
	if evalJS[bool](b, `!!document.querySelector("[data-upload-input]")`) {
		t.Error("the guest page offers a file input while guest uploads are off")
	}
	b.assertNoJSErrors()
	before := len(b.jsErrors())
	refused := evalJS[map[string]any](b, `(async () => {
	const fd = new FormData();
	fd.append("source", new File([new Uint8Array([137, 80, 78, 71])], "x.png", {type: "image/png"}));
	const r = await fetch("/upload", {method: "POST", body: fd, headers: {"Accept": "application/json", "X-CSRF-Token": document.body.dataset.csrf}});
	return {status: r.status, body: await r.json()};
})()`)
	if refused["status"] != float64(403) || !strings.Contains(fmt.Sprint(refused["body"]), "游客上传已关闭") {
		t.Errorf("guest upload while guest uploads are off: %v", refused)
	}
	// The browser logs the refusal it was sent on purpose; nothing else.
	b.settle()
	for _, e := range b.jsErrors()[before:] {
		if !strings.Contains(e, "status of 403") || !strings.Contains(e, "/upload") {
			t.Errorf("the guest page reported a JavaScript error: %s", e)
		}
	}
}
