package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshots renders the upload page for the docs: desktop and phone
// width, English and Simplified Chinese, with three files queued, and once
// more after they were uploaded. It runs only when PICBED_SCREENSHOTS names
// the folder to write them to:
//
//	PICBED_SCREENSHOTS=$PWD/docs/screenshots go test -run TestScreenshots .
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PICBED_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PICBED_SCREENSHOTS=DIR to write the docs' screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Phone shots at 2x keep the files small enough for a README.
	phone := viewport{name: "phone", width: 390, height: 844, scale: 2, mobile: true}
	for _, vp := range []viewport{desktopViewport, phone} {
		for _, lang := range []string{"en", "zh-CN"} {
			t.Run(vp.name+"-"+lang, func(t *testing.T) {
				data := t.TempDir()
				picbed(t, "demo-password\n", "user", "add", "demo", "--admin", "--password-stdin", "--data", data)
				in := startPicbed(t, data)
				b := newBrowser(t, vp)
				b.navigate(in.base + "/login")
				evalJS[chromedp.Void](b, `document.cookie = "pb_lang=`+lang+`; path=/"`)
				browserLogin(b, in.base, "demo", "demo-password")
				var paths []string
				for _, f := range []string{"photo.jpg", "small.png", "anim.gif"} {
					paths = append(paths, filepath.Join("testdata", f))
				}
				b.setFiles("[data-upload-input]", paths...)
				waitPage(b, "three previews", `document.querySelectorAll("[data-upload-item] canvas, [data-upload-item] .no-preview").length === 3`, 10*time.Second)
				b.screenshot(filepath.Join(dir, "upload-"+vp.name+"-"+lang+".png"))
				b.browse(chromedp.Click(`[data-upload-start]`))
				waitPage(b, "upload complete", `document.querySelectorAll('[data-upload-item][data-state="done"]').length === 3 && document.querySelector("[data-upload-results]") && !document.querySelector("[data-upload-results]").hidden`, 20*time.Second)
				time.Sleep(300 * time.Millisecond) // thumbnails of the results
				b.screenshot(filepath.Join(dir, "uploaded-"+vp.name+"-"+lang+".png"))
				viewer := evalJS[string](b, `document.querySelector('[data-upload-item][data-state="done"] a[href*="/image/"]').href`)
				// The other pages, for review (PICBED_SCREENSHOTS_ALL=1).
				if os.Getenv("PICBED_SCREENSHOTS_ALL") == "1" {
					for name, p := range map[string]string{"my": "/my", "albums": "/albums", "viewer": viewer, "apikey": "/settings/api", "admin": "/admin", "users": "/admin/users", "account": "/account"} {
						if !strings.HasPrefix(p, "http") {
							p = in.base + p
						}
						b.navigate(p)
						time.Sleep(300 * time.Millisecond)
						b.screenshot(filepath.Join(dir, "page-"+name+"-"+vp.name+"-"+lang+".png"))
					}
				}
				b.assertNoJSErrors()
			})
		}
	}
}
