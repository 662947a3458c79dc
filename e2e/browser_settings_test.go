package e2e

// Browser tests of the API key page and the admin settings page.

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

var apiKeyShape = regexp.MustCompile(`^pb_[0-9a-f]{40}$`)

// TestBrowserAPIKeyRegenerate: the key page shows a new key once, the
// regenerate button asks first, and afterwards the old key is refused by
// /api/1/upload while the new one works.
func TestBrowserAPIKeyRegenerate(t *testing.T) {
	b := newBrowser(t, desktopViewport)
	data := t.TempDir()
	picbed(t, "admin-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	in := startPicbed(t, data)
	// keyUpload uploads small.png with key, as a client would, and returns
	// the HTTP status and Chevereto's error message ("" on success).
	keyUpload := func(key string) (int, string) {
		t.Helper()
		a, err := upload(in.base, key, "small.png", fixture(t, "small.png"), withField("format", "json"))
		if err != nil {
			t.Fatal(err)
		}
		r := decodeAPI(t, a.body)
		if r.Error != nil {
			return a.status, r.Error.Message
		}
		if r.StatusCode != 200 || r.Image.URL == "" {
			t.Fatalf("upload answer without image or error: %s", a.body)
		}
		return a.status, ""
	}

	browserLogin(b, in.base, "boss", "admin-password")
	b.navigate(in.base + "/settings/api")
	old := evalJS[string](b, `document.querySelector("[data-api-key]").value`)
	if !apiKeyShape.MatchString(old) {
		t.Fatalf("the key page shows %q, want a pb_ key", old)
	}
	if !strings.Contains(browseGet(b, chromedp.Text(chromedp.CSS("main"))), "it will be shown just once") {
		t.Error("the new key comes without the shown-once notice")
	}
	if status, msg := keyUpload(old); status != 200 {
		t.Fatalf("upload with the shown key: %d %s", status, msg)
	}

	// Regenerate: the page asks, the browser accepts.
	dctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	dialogs := chromedp.Events(dctx, page.JavascriptDialogOpening)
	asked := make(chan string, 1)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			asked <- ev.Message
			chromedp.Call(dctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	evalJS[chromedp.Void](b, `document.body.dataset.before = "1"`)
	b.browse(chromedp.Click(chromedp.CSS(`button[data-regenerate]`)))
	select {
	case msg := <-asked:
		if msg != "Are you sure that you want to revoke the existing API key?" {
			t.Errorf("confirmation %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("regenerate did not ask for confirmation")
	}
	b.browse(chromedp.WaitVisible(chromedp.CSS(`body:not([data-before]) [data-api-key]`)))
	fresh := evalJS[string](b, `document.querySelector("[data-api-key]").value`)
	if !apiKeyShape.MatchString(fresh) || fresh == old {
		t.Fatalf("after regenerate the page shows %q (old %q)", fresh, old)
	}
	if status, msg := keyUpload(old); status != http.StatusBadRequest || msg != "Invalid API v1 key." {
		t.Errorf("old key after regenerate: %d %q, want 400 Invalid API v1 key.", status, msg)
	}
	if status, msg := keyUpload(fresh); status != 200 {
		t.Errorf("new key: %d %s", status, msg)
	}

	// Once shown, never again: the page keeps only the prefix.
	b.navigate(in.base + "/settings/api")
	if evalJS[bool](b, `!!document.querySelector("[data-api-key]")`) || strings.Contains(evalJS[string](b, `document.documentElement.outerHTML`), fresh) {
		t.Error("the key is shown again on the next visit")
	}
	if p := evalJS[string](b, `document.querySelector("[data-key-prefix]").dataset.keyPrefix`); !strings.HasPrefix(fresh, p) || len(p) < 8 {
		t.Errorf("prefix %q of key %q", p, fresh)
	}
	b.assertNoJSErrors()
}

// TestBrowserAdminGuestUploads: the admin turns guest uploads on in /admin
// and a guest gets the upload box at once; off again, and the guest does not.
func TestBrowserAdminGuestUploads(t *testing.T) {
	b := newBrowser(t, desktopViewport)
	data := t.TempDir()
	picbed(t, "admin-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	in := startPicbed(t, data)

	guestCanUpload := func() bool {
		t.Helper()
		b.navigate(in.base + "/")
		return evalJS[bool](b, `!!document.querySelector("[data-upload]")`)
	}
	setGuestUploads := func(on bool) {
		t.Helper()
		browserLogin(b, in.base, "boss", "admin-password")
		b.navigate(in.base + "/admin")
		box := `.settings-form input[name=guest_uploads]`
		if evalJS[bool](b, `document.querySelector("`+box+`").checked`) != on {
			b.browse(chromedp.Click(chromedp.CSS(box)))
		}
		b.browse(
			chromedp.Click(chromedp.CSS(`.settings-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.alert.ok`)),
		)
		if got := evalJS[bool](b, `document.querySelector("`+box+`").checked`); got != on {
			t.Fatalf("after saving, guest uploads box is %v, want %v", got, on)
		}
		browserLogout(b)
	}

	if guestCanUpload() {
		t.Fatal("a fresh install lets guests upload")
	}
	setGuestUploads(true)
	if !guestCanUpload() {
		t.Error("guests get no upload box after the admin turned guest uploads on")
	}
	setGuestUploads(false)
	if guestCanUpload() {
		t.Error("guests still get the upload box after the admin turned guest uploads off")
	}
	b.assertNoJSErrors()
}

// TestBrowserKeyPagePicGoConfig copies the PicGo web-uploader configuration
// the key page shows into PicGo's config.json as it is and uploads with the
// real PicGo: the snippet works without editing. Like TestPicGo it needs
// PICBED_PICGO_DIR (set by .ci/run).
func TestBrowserKeyPagePicGoConfig(t *testing.T) {
	picgoBin(t) // skip before starting a browser
	b := newBrowser(t, desktopViewport)
	data := t.TempDir()
	picbed(t, "admin-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	in := startPicbed(t, data)
	browserLogin(b, in.base, "boss", "admin-password")
	b.navigate(in.base + "/settings/api")
	config := evalJS[string](b, `document.getElementById("webup-config").value`)
	b.assertNoJSErrors()

	urls, out := runPicGo(t, []byte(config), "small.png")
	if len(urls) != 1 || !strings.HasPrefix(urls[0], in.base+"/images/") {
		t.Fatalf("picgo with the page's config: %q\n%s", urls, out)
	}
	fetchImage(t, urls[0], "image/png", 0, 0)
}
