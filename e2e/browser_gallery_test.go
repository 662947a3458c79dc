package e2e

// Browser test of albums and My images: a user's API uploads show in My
// images, a search finds them by title (Chinese too), a selection becomes
// an unlisted album that a logged-out browser opens; as a password album
// the same browser gets the password prompt and unlocks it; the viewer's
// owner tools edit a title.

import (
	"encoding/json"
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// loadedAt is a JavaScript condition: the page at path (with its query)
// has loaded.
func loadedAt(path string) string {
	return fmt.Sprintf(`location.pathname + location.search === %q && document.readyState === "complete"`, path)
}

// loadedTiles is a JavaScript expression: how many thumbnails of the
// gallery grid have loaded.
const loadedTiles = `Array.from(document.querySelectorAll("[data-gallery] .tile img")).filter(i => i.complete && i.naturalWidth > 0).length`

func TestBrowserGallery(t *testing.T) {
	data := t.TempDir()
	picbed(t, "boss-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	key := newUserKey(t, data, "alice") // password "secret-password"
	in := startPicbed(t, data)
	titles := []string{"红色的日落", "Blue sky", "Green field"}
	ids := map[string]string{}
	for i, title := range titles {
		png := tinyPNG(t, 40+i, 30, color.NRGBA{uint8(80 * i), 120, 200, 255})
		a, err := upload(in.base, key, fmt.Sprintf("pic%d.png", i), png, withField("title", title))
		if err != nil {
			t.Fatalf("upload %s: %v", title, err)
		}
		r := decodeAPI(t, a.body)
		if a.status != 200 || r.StatusCode != 200 {
			t.Fatalf("upload %s: %d %s", title, a.status, a.body)
		}
		ids[title] = r.Image.IDEncoded
	}

	b := newBrowser(t, desktopViewport)
	b.navigate(in.base + "/login?next=/my")
	submitLogin(b, "alice", "secret-password")
	waitPage(b, "My images after login", loadedAt("/my")+" && "+loadedTiles+" === 3", 10*time.Second)

	// Search by title, in English and Chinese.
	for q, want := range map[string]string{"sky": "Blue sky", "日落": "红色的日落"} {
		b.navigate(in.base + "/my")
		b.browse(
			chromedp.SendKeys(`#my-q`, q),
			chromedp.Submit(`#my-q`),
		)
		waitPage(b, "search "+q, `location.search.startsWith("?q=") && document.readyState === "complete"`, 10*time.Second)
		got := evalJS[[]string](b, `Array.from(document.querySelectorAll('[data-gallery] input[name="image_ids"]')).map(i => i.value)`)
		if len(got) != 1 || got[0] != ids[want] {
			t.Errorf("search %q found %v, want %s (%s)", q, got, want, ids[want])
		}
	}

	// Select every image, make an unlisted album of them.
	b.navigate(in.base + "/my")
	if n := evalJS[int](b, `document.querySelectorAll("[data-needs-selection]:disabled").length`); n != 3 {
		t.Errorf("%d selection buttons disabled with nothing selected, want 3", n)
	}
	b.browse(chromedp.Click(`[data-select-all]`))
	if got := evalJS[string](b, `document.querySelector("[data-sel-count]").textContent`); got != "3 images selected" {
		t.Errorf("selection count %q", got)
	}
	b.browse(
		chromedp.Click(`.new-album summary`),
		chromedp.SendKeys(`.new-album input[name=title]`, "Trip 2026"),
		chromedp.SetValue(`.new-album select[name=privacy]`, "unlisted"),
		chromedp.Click(`[data-create-album]`),
	)
	waitPage(b, "the new album", `location.pathname.startsWith("/album/trip-2026.") && document.readyState === "complete" && `+loadedTiles+` === 3`, 10*time.Second)
	albumURL := evalJS[string](b, `location.href`)
	b.screenshot(filepath.Join(t.ArtifactDir(), "album-desktop.png"))
	// The embed codes list every image, with delete links for the owner.
	b.browse(chromedp.SetValue(`select[data-embed-format]`, "delete-links"))
	evalJS[chromedp.Void](b, `document.querySelector("select[data-embed-format]").dispatchEvent(new Event("change"))`)
	if lines := strings.Split(evalJS[string](b, `document.querySelector("textarea[data-embed-code]").value`), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "/delete/") {
		t.Errorf("delete-link codes %q", lines)
	}
	b.assertNoJSErrors()

	// A logged-out browser opens the unlisted album by its link.
	stranger := newBrowser(t, phoneViewport)
	stranger.navigate(albumURL)
	waitPage(stranger, "the unlisted album, logged out", loadedTiles+" === 3", 10*time.Second)
	if n := evalJS[int](stranger, `document.querySelectorAll("[data-embed-images]").length`); n != 1 {
		t.Errorf("stranger's album page: %d embed panels, want 1", n)
	}
	codes := evalJS[string](stranger, `document.querySelector("textarea[data-embed-code]").value`)
	if strings.Contains(codes, "/delete/") || evalJS[bool](stranger, `!!document.querySelector('option[value="delete-links"]')`) {
		t.Error("a stranger gets delete links")
	}
	if !evalJS[bool](stranger, `!!document.querySelector('meta[name="robots"][content="noindex"]')`) {
		t.Error("the unlisted album page has no noindex")
	}
	stranger.screenshot(filepath.Join(t.ArtifactDir(), "album-phone-stranger.png"))

	// The owner makes it a password album.
	b.browse(chromedp.Click(`a[href$="/edit"]`))
	waitPage(b, "the album's edit page", `location.pathname.endsWith("/edit") && document.readyState === "complete"`, 10*time.Second)
	if evalJS[bool](b, `!document.querySelector("[data-album-password]").hidden`) {
		t.Error("the password field shows for an unlisted album")
	}
	b.browse(chromedp.SetValue(`select[name=privacy]`, "password"))
	evalJS[chromedp.Void](b, `document.querySelector("select[name=privacy]").dispatchEvent(new Event("change"))`)
	if evalJS[bool](b, `document.querySelector("[data-album-password]").hidden`) {
		t.Error("the password field is hidden for a password album")
	}
	b.browse(
		chromedp.SendKeys(`input[name=password]`, "open-sesame"),
		chromedp.Click(`form[action$="/edit"] button[type=submit]`),
	)
	waitPage(b, "the saved album", `location.search === "?done=saved" && document.readyState === "complete"`, 10*time.Second)

	// The stranger now gets the prompt, a wrong password is refused, the
	// right one opens it.
	stranger.navigate(albumURL)
	if h := evalJS[string](stranger, `document.querySelector("h1").textContent`); h != "This album is password protected" {
		t.Fatalf("stranger sees %q, want the password prompt", h)
	}
	stranger.browse(
		chromedp.SendKeys(`input[name=password]`, "guess-again"),
		chromedp.Click(`form[action$="/unlock"] button[type=submit]`),
	)
	waitPage(stranger, "wrong password", `document.readyState === "complete" && document.querySelector(".alert.error")`, 10*time.Second)
	if msg := evalJS[string](stranger, `document.querySelector(".alert.error").textContent`); msg != "Wrong password." {
		t.Errorf("wrong password message %q", msg)
	}
	stranger.browse(
		chromedp.SendKeys(`input[name=password]`, "open-sesame"),
		chromedp.Click(`form[action$="/unlock"] button[type=submit]`),
	)
	waitPage(stranger, "the unlocked album", `location.href === `+jsString(albumURL)+` && document.readyState === "complete" && `+loadedTiles+` === 3`, 10*time.Second)
	// The prompt and the refusal answer 403, which the browser logs; nothing else.
	for _, e := range stranger.jsErrors() {
		if !strings.Contains(e, "status of 403 (Forbidden)") || !strings.Contains(e, "/album/") {
			t.Errorf("stranger's page error: %s", e)
		}
	}

	// The viewer's owner tools: edit the title.
	viewer := in.base + "/image/" + ids["Green field"]
	b.navigate(viewer)
	waitPage(b, "the viewer", `document.readyState === "complete" && document.querySelector(".owner-tools")`, 10*time.Second)
	if n := evalJS[int](b, `document.querySelector("textarea[data-embed-code]").value.split("\n").length`); n != 1 {
		t.Errorf("viewer embed code has %d lines", n)
	}
	b.browse(chromedp.Click(`.edit-text summary`))
	evalJS[chromedp.Void](b, `document.querySelector(".edit-text input[name=title]").value = ""`)
	b.browse(
		chromedp.SendKeys(`.edit-text input[name=title]`, "Greener field"),
		chromedp.Click(`.edit-text button[type=submit]`),
	)
	waitPage(b, "the edited image", `location.pathname.startsWith("/image/greener-field.") && document.readyState === "complete"`, 10*time.Second)
	if h := evalJS[string](b, `document.querySelector("h1").textContent`); h != "Greener field" {
		t.Errorf("viewer title after edit %q", h)
	}
	b.assertNoJSErrors()
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// TestBrowserMyImagesScroll: scrolling to the end of My images loads the
// older pages into the same grid, and the selection covers them.
func TestBrowserMyImagesScroll(t *testing.T) {
	data := t.TempDir()
	picbed(t, "boss-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	key := newUserKey(t, data, "alice")
	in := startPicbed(t, data, "--flood-limits", "off")
	const n = 63 // more than one page of 60
	for i := 0; i < n; i++ {
		png := tinyPNG(t, 20+i, 20, color.NRGBA{uint8(4 * i), 90, 160, 255})
		if a, err := upload(in.base, key, fmt.Sprintf("p%d.png", i), png); err != nil || a.status != 200 {
			t.Fatalf("upload %d: %v %d %s", i, err, a.status, a.body)
		}
	}
	b := newBrowser(t, phoneViewport)
	b.navigate(in.base + "/login?next=/my")
	submitLogin(b, "alice", "secret-password")
	waitPage(b, "My images", loadedAt("/my"), 10*time.Second)
	if got := evalJS[int](b, `document.querySelectorAll("[data-gallery] .tile").length`); got != 60 {
		t.Errorf("first page has %d tiles, want 60", got)
	}
	evalJS[chromedp.Void](b, `window.scrollTo(0, document.body.scrollHeight)`)
	waitPage(b, "the older page loaded", fmt.Sprintf(`document.querySelectorAll("[data-gallery] .tile").length === %d && !document.querySelector("[data-older]")`, n), 10*time.Second)
	if got := evalJS[int](b, `new Set(Array.from(document.querySelectorAll('[data-gallery] input[name="image_ids"]')).map(i => i.value)).size`); got != n {
		t.Errorf("%d different images after scrolling, want %d", got, n)
	}
	b.browse(chromedp.Click(`[data-select-all]`))
	if got := evalJS[string](b, `document.querySelector("[data-sel-count]").textContent`); got != fmt.Sprintf("%d images selected", n) {
		t.Errorf("selection count %q", got)
	}
	b.assertNoJSErrors()
}
