package e2e

// Browser tests of the upload page: a user logs in, queues three
// files through the file input and one by paste, uploads them, watches the
// progress heading reach "Upload complete", reads the Markdown embed codes
// and makes an album of the batch; the page in Simplified Chinese; a guest
// refused while guest uploads are off. The other tests cover the page's
// other paths.

import (
	"bytes"
	"context"
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

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"picbed/store"
)

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

	// "Create new album" with the batch: an empty name is refused in the
	// dialog, then the album is made and opened.
	b.browse(chromedp.Click("[data-album-create]"))
	waitPage(b, "album dialog", `document.querySelector("[data-album-dialog]").open`, 5*time.Second)
	b.browse(chromedp.Click("[data-album-form] button[type=submit]"))
	if e := evalJS[string](b, `document.querySelector("[data-album-error]").textContent`); e != "You must enter the album name." {
		t.Errorf("album without a name: %q", e)
	}
	b.browse(
		chromedp.SendKeys("[data-album-form] input[name=title]", "The batch"),
		chromedp.SetValue("[data-album-form] select[name=privacy]", "unlisted"),
		chromedp.Click("[data-album-form] button[type=submit]"),
	)
	waitPage(b, "album page", `location.pathname.startsWith("/album/") && document.readyState === "complete"`, 10*time.Second)
	if n := evalJS[int](b, `new Set([...document.images].map(i => i.src).filter(s => s.includes("/images/"))).size`); n < 4 {
		t.Errorf("the new album page shows %d images, want 4", n)
	}
	b.assertNoJSErrors()
	b.navigate(in.base + "/")

	// 简体中文 through the footer's language select: the upload page is
	// translated.
	b.browse(chromedp.SetValue(`select[name=lang]`, "zh-CN")) // fires change: app.js submits
	waitPage(b, "Chinese page", `document.documentElement.lang === "zh-CN" && document.readyState === "complete" && document.querySelector("[data-upload-heading]")`, 10*time.Second)
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
	assertOnlyRefusals(b, before, "403")
}

// TestBrowserUploadStates drives the page's other paths: the client-side
// checks and their dialog, a drop on the page, "Add image URLs" ending in
// "No files have been uploaded", a mixed batch with its error report, the
// per-file edit dialog, and cancelling a queue that uploads slowly.
func TestBrowserUploadStates(t *testing.T) {
	data := t.TempDir()
	picbed(t, "boss-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	picbed(t, "ann-password\n", "user", "add", "ann", "--password-stdin", "--data", data)
	in := startPicbed(t, data, "--url-uploads", "true", "--max-upload", "400KB")
	b := newBrowser(t, desktopViewport)
	browserLogin(b, in.base, "ann", "ann-password")
	if s := evalJS[string](b, `document.querySelector("[data-upload-limits]").textContent`); s != "JPG PNG GIF WEBP BMP · MAX 400 KB" {
		t.Errorf("limits line %q", s)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	state := func() []string {
		return evalJS[[]string](b, `[...document.querySelectorAll("[data-upload-item]")].map(li => li.dataset.state)`)
	}

	// Client-side checks: too big, not an image type; listed in a dialog.
	big := write("big.png", append(fixture(t, "small.png"), make([]byte, 450_000)...))
	txt := write("notes.txt", []byte("not an image"))
	b.setFiles("[data-upload-input]", big, txt)
	waitPage(b, "rejected files dialog", `document.querySelector("[data-upload-rejected]").open`, 5*time.Second)
	got := evalJS[[]string](b, `[...document.querySelectorAll("[data-rejected-list] li")].map(li => li.textContent)`)
	if strings.Join(got, "|") != "big.png - File too big - max 400 KB|notes.txt - Invalid or unsupported file format." {
		t.Errorf("rejected: %q", got)
	}
	b.browse(chromedp.Click("[data-upload-rejected] [data-dialog-close]"))
	if n := len(state()); n != 0 {
		t.Errorf("%d items queued from rejected files", n)
	}

	// A drop anywhere on the page queues; the same name again is skipped.
	small := fixture(t, "small.png")
	if !b.dropFiles("", pageFile{"dropped.png", "image/png", small}) {
		t.Error("the page did not take the drop")
	}
	b.dropFiles("main", pageFile{"dropped.png", "image/png", small})
	waitPage(b, "dropped item", `document.querySelectorAll("[data-upload-item]").length === 1`, 5*time.Second)
	b.settle()
	if n := len(state()); n != 1 {
		t.Errorf("%d items after dropping the same name twice, want 1", n)
	}
	// Clipboard images all arrive as image.png: they are numbered, not
	// skipped. The remove button takes one out of the queue.
	red := tinyPNG(t, 8, 8, color.NRGBA{255, 0, 0, 255})
	b.pasteFiles("", pageFile{"image.png", "image/png", red})
	b.pasteFiles("", pageFile{"image.png", "image/png", tinyPNG(t, 9, 9, color.NRGBA{0, 0, 255, 255})})
	waitPage(b, "pasted items", `document.querySelectorAll("[data-upload-item]").length === 3`, 5*time.Second)
	names := evalJS[[]string](b, `[...document.querySelectorAll("[data-upload-item] .name")].map(e => e.textContent)`)
	if strings.Join(names, "|") != "dropped.png|image.png|image-2.png" {
		t.Errorf("queue after two pastes: %q", names)
	}
	b.browse(chromedp.Click("[data-upload-item] .remove"))
	if s := evalJS[string](b, `document.querySelector("[data-upload-start]").textContent`); s != "Upload 2 files" || len(state()) != 2 {
		t.Errorf("after removing one: %d items, button %q", len(state()), s)
	}
	b.browse(chromedp.Click("[data-upload-clear]"))

	// Image URLs out of BBCode and HTML; the server refuses non-public
	// addresses, so nothing is uploaded.
	b.browse(chromedp.Click("[data-upload-urls-open]"))
	b.browse(chromedp.SendKeys("[data-urls-form] textarea", `[url=http://10.0.0.1/][img]http://127.0.0.1:9/a.png[/img][/url] <img src="http://10.0.0.1/b.jpg">`))
	b.browse(chromedp.Click(`[data-urls-form] button[value=add]`))
	waitPage(b, "two URL items", `document.querySelectorAll("[data-upload-item]").length === 3`, 5*time.Second)
	names = evalJS[[]string](b, `[...document.querySelectorAll("[data-upload-item] .name")].map(e => e.textContent)`)
	if strings.Join(names, "|") != "http://10.0.0.1/|a.png|b.jpg" {
		t.Errorf("URL items %q", names)
	}
	b.browse(chromedp.Click("[data-upload-start]"))
	waitPage(b, "all failed", `document.querySelector("[data-upload-heading]").textContent === "No files have been uploaded"`, 20*time.Second)
	if s := evalJS[string](b, `document.querySelector("[data-upload-sub]").textContent`); s != "Some errors have occurred and the system couldn't process your request." {
		t.Errorf("all failed: %q", s)
	}
	report := evalJS[string](b, `document.querySelector("[data-upload-summary]").textContent`)
	if !strings.Contains(report, "Check the error report for more information.") || !strings.Contains(report, "a.png - Unsupported non-public IP address for upload") {
		t.Errorf("all-failed summary: %q", report)
	}
	if s := strings.Join(state(), ","); s != "failed,failed,failed" {
		t.Errorf("states %s", s)
	}

	// A mixed batch: the page cannot tell that notimage.jpg is no JPEG, the
	// server can. The good one gets its edited title.
	b.browse(chromedp.Click("[data-upload-again]"))
	b.setFiles("[data-upload-input]", write("good-one.png", small), write("notimage.jpg", fixture(t, "notimage.jpg")))
	waitPage(b, "two items", `document.querySelectorAll("[data-upload-item][data-state=queued]").length === 2`, 5*time.Second)
	b.browse(chromedp.Click("[data-upload-item] .pic"))
	waitPage(b, "edit dialog", `document.querySelector("[data-upload-edit]").open`, 5*time.Second)
	if title := evalJS[string](b, `document.querySelector("[data-edit-form] input[name=title]").value`); title != "Good-one" {
		t.Errorf("default title %q, want Good-one", title)
	}
	b.browse(
		chromedp.SetValue("[data-edit-form] input[name=title]", "Edited title"),
		chromedp.Click(`[data-edit-form] button[value=save]`),
	)
	b.browse(chromedp.Click("[data-upload-start]"))
	waitPage(b, "mixed", `document.querySelector("[data-upload-heading]").textContent === "Upload complete"`, 20*time.Second)
	if s := strings.Join(state(), ","); s != "done,failed" {
		t.Errorf("states %s, want done,failed", s)
	}
	if !evalJS[bool](b, `!!document.querySelector("[data-upload-note]") && document.querySelector("[data-upload-note]").textContent.startsWith("Note: Some files couldn't be uploaded.")`) {
		t.Error("no \"Note: Some files couldn't be uploaded.\"")
	}
	b.browse(chromedp.Click("[data-upload-note] button"))
	waitPage(b, "error report", `document.querySelector("[data-upload-report]").open`, 5*time.Second)
	if r := evalJS[string](b, `document.querySelector("[data-report-list]").textContent`); r != "notimage.jpg - Can't get target upload source info" {
		t.Errorf("error report %q", r)
	}
	b.browse(chromedp.Click("[data-upload-report] [data-dialog-close]"))
	code := evalJS[string](b, `(() => {
	const s = document.querySelector("[data-upload-results] select[data-embed-format]");
	s.value = "markdown-embed";
	s.dispatchEvent(new Event("change"));
	return document.querySelector("[data-upload-results] textarea[data-embed-code]").value;
})()`)
	if !strings.HasPrefix(code, "![Edited title](") || strings.Contains(code, "\n") {
		t.Errorf("embed code of the mixed batch: %q", code)
	}

	// Cancelling: with the upload throttled, one queued item is cancelled,
	// then the rest; nothing is left running and nothing is uploaded.
	b.browse(chromedp.Click("[data-upload-again]"))
	noise := fixture(t, "noise300.png")
	var paths []string
	for i := range 3 {
		paths = append(paths, write(fmt.Sprintf("slow-%d.png", i), append(append([]byte{}, noise...), byte(i))))
	}
	b.setFiles("[data-upload-input]", paths...)
	waitPage(b, "three items", `document.querySelectorAll("[data-upload-item][data-state=queued]").length === 3`, 5*time.Second)
	throttle(b, 8_000)
	b.browse(chromedp.Click("[data-upload-start]"))
	waitPage(b, "two running", `document.querySelectorAll("[data-upload-item][data-state=uploading]").length === 2`, 5*time.Second)
	b.browse(chromedp.Click(`[data-upload-item][data-state=queued] .cancel`))
	b.browse(chromedp.Click("[data-upload-cancel-all]"))
	waitPage(b, "cancelled", `document.querySelector("[data-upload-heading]").textContent === "No files have been uploaded"`, 10*time.Second)
	throttle(b, -1)
	if s := strings.Join(state(), ","); s != "canceled,canceled,canceled" {
		t.Errorf("states after cancelling %s", s)
	}
	if r := evalJS[string](b, `document.querySelector("[data-upload-summary] .report").textContent`); !strings.Contains(r, "slow-2.png - Upload canceled") {
		t.Errorf("report after cancelling: %q", r)
	}
	assertOnlyRefusals(b, 0, "400")
}

// assertOnlyRefusals fails the test for any page error after the first
// skip ones but the browser's log line of an upload refused with one of
// the HTTP statuses: those answers were asked for.
func assertOnlyRefusals(b *browser, skip int, statuses ...string) {
	b.t.Helper()
	b.settle()
	for _, e := range b.jsErrors()[skip:] {
		ok := false
		for _, st := range statuses {
			ok = ok || strings.Contains(e, "responded with a status of "+st+" ") && strings.HasSuffix(e, "/upload)")
		}
		if !ok {
			b.t.Errorf("the page reported a JavaScript error: %s", e)
		}
	}
}

// throttle limits the browser's upload bandwidth to bytesPerSecond (-1:
// no limit).
func throttle(b *browser, bytesPerSecond float64) {
	b.t.Helper()
	b.browse(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{DownloadThroughput: -1, UploadThroughput: bytesPerSecond}},
		})
		return err
	}))
}

// TestBrowserUploadFolderDrop drops a real folder from the file system
// (through the browser's own drag and drop, not a synthetic event): its
// images, subfolders included, are queued; hidden files are skipped and
// other files are listed as refused.
func TestBrowserUploadFolderDrop(t *testing.T) {
	data := t.TempDir()
	picbed(t, "boss-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	in := startPicbed(t, data)
	b := newBrowser(t, desktopViewport)
	browserLogin(b, in.base, "boss", "boss-password")

	folder := filepath.Join(t.TempDir(), "holiday")
	for name, content := range map[string][]byte{
		"one.png":          fixture(t, "small.png"),
		"sub/two.jpg":      fixture(t, "small.jpg"),
		".DS_Store":        []byte("junk"),
		"sub/readme.txt":   []byte("text"),
		"sub/deeper/3.gif": fixture(t, "anim.gif"),
	} {
		p := filepath.Join(folder, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	drag := &input.DragData{Files: []string{folder}, DragOperationsMask: 1}
	b.browse(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			if _, err := cdp.Call(ctx, tg, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: 640, Y: 300, Data: drag}); err != nil {
				return err
			}
		}
		return nil
	}))
	waitPage(b, "folder items", `document.querySelectorAll("[data-upload-item]").length === 3`, 10*time.Second)
	names := evalJS[[]string](b, `[...document.querySelectorAll("[data-upload-item] .name")].map(e => e.textContent).sort()`)
	if strings.Join(names, "|") != "3.gif|one.png|two.jpg" {
		t.Errorf("queued from the folder: %q", names)
	}
	waitPage(b, "refused file", `document.querySelector("[data-upload-rejected]").open`, 5*time.Second)
	if r := evalJS[string](b, `document.querySelector("[data-rejected-list]").textContent`); r != "holiday/sub/readme.txt - Invalid or unsupported file format." {
		t.Errorf("refused: %q", r)
	}
	b.assertNoJSErrors()
}

// TestBrowserUploadGuest: with guest uploads and sign-ups on, a guest
// uploads, gets the guest sentence and the delete links, and finds the
// image among their own after logging in from the same browser.
func TestBrowserUploadGuest(t *testing.T) {
	data := t.TempDir()
	picbed(t, "boss-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	picbed(t, "ann-password\n", "user", "add", "ann", "--password-stdin", "--data", data)
	st, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.SaveSettings(store.Settings{SiteName: "picbed", GuestUploads: true, Signups: true, MaxUpload: 25_000_000, EXIF: "strip", Duplicates: "reuse"})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	in := startPicbed(t, data)
	b := newBrowser(t, phoneViewport)
	b.navigate(in.base + "/")
	if h := evalJS[string](b, `document.querySelector("[data-upload-hint]").textContent`); h != "Customize upload by touching any preview" {
		t.Errorf("hint on a phone: %q", h)
	}
	p := filepath.Join(t.TempDir(), "guest-shot.png")
	if err := os.WriteFile(p, fixture(t, "photo.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.setFiles("[data-upload-input]", p)
	waitPage(b, "queued", `document.querySelectorAll("[data-upload-item][data-state=queued]").length === 1`, 5*time.Second)
	if evalJS[bool](b, `!!document.querySelector("[data-upload-album]")`) {
		t.Error("a guest is offered albums")
	}
	b.browse(chromedp.Click("[data-upload-start]"))
	waitPage(b, "upload complete", `document.querySelector("[data-upload-heading]").textContent === "Upload complete"`, 20*time.Second)
	if s := evalJS[string](b, `document.querySelector("[data-upload-sub]").textContent`); s != "You must create an account or sign in to save this content into your account." {
		t.Errorf("guest sentence %q", s)
	}
	if evalJS[bool](b, `!!document.querySelector("[data-album-create]")`) {
		t.Error("a guest is offered to create an album")
	}
	del := evalJS[string](b, `(() => {
	const s = document.querySelector("[data-upload-results] select[data-embed-format]");
	s.value = "delete-links";
	s.dispatchEvent(new Event("change"));
	return document.querySelector("[data-upload-results] textarea[data-embed-code]").value;
})()`)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/image/\w+/delete/[0-9a-f]+$`).MatchString(del) {
		t.Errorf("guest's delete link %q", del)
	}
	b.assertNoJSErrors()

	// Logging in from this browser makes the image ann's.
	browserLogin(b, in.base, "ann", "ann-password")
	b.navigate(in.base + "/my")
	if !evalJS[bool](b, `[...document.images].some(i => i.src.includes("/guest-shot."))`) {
		t.Error("the guest upload is not among ann's images after logging in")
	}
	b.assertNoJSErrors()
}
