package e2e

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
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
//	PICBED_SCREENSHOTS=$PWD/docs/screenshots go test -run TestScreenshots ./e2e
//
// from the repository root (a relative folder is taken from e2e/).
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
				paths := demoImages(t)
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
					picbed(t, "bob-password\n", "user", "add", "bob", "--password-stdin", "--data", data)
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

// demoImages writes three made-up landscapes (a sunrise, noon and a night
// sky over hills), so the screenshots show pictures rather than test
// patterns, and returns their paths.
func demoImages(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	scenes := []struct {
		name              string
		top, bottom, sun  color.RGBA
		hillNear, hillFar color.RGBA
		sunX, sunY, sunR  float64
	}{
		{"sunrise.jpg", color.RGBA{255, 140, 90, 255}, color.RGBA{255, 220, 150, 255}, color.RGBA{255, 245, 200, 255},
			color.RGBA{70, 60, 90, 255}, color.RGBA{140, 100, 120, 255}, 0.3, 0.62, 0.09},
		{"meadow.png", color.RGBA{70, 140, 230, 255}, color.RGBA{190, 225, 250, 255}, color.RGBA{255, 250, 220, 255},
			color.RGBA{60, 140, 70, 255}, color.RGBA{110, 170, 120, 255}, 0.75, 0.22, 0.07},
		{"night.jpg", color.RGBA{10, 15, 45, 255}, color.RGBA{40, 50, 100, 255}, color.RGBA{240, 240, 220, 255},
			color.RGBA{15, 20, 30, 255}, color.RGBA{35, 40, 60, 255}, 0.68, 0.25, 0.05},
	}
	var paths []string
	for _, sc := range scenes {
		const w, h = 1200, 800
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		mix := func(a, b color.RGBA, f float64) color.RGBA {
			l := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f) }
			return color.RGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 255}
		}
		for y := range h {
			fy := float64(y) / h
			for x := range w {
				fx := float64(x) / w
				c := mix(sc.top, sc.bottom, fy)
				if d := math.Hypot(fx-sc.sunX, (fy-sc.sunY)*float64(h)/w); d < sc.sunR {
					c = sc.sun
				} else if d < sc.sunR*2.2 {
					c = mix(sc.sun, c, (d-sc.sunR)/(sc.sunR*1.2))
				}
				if fy > 0.55+0.07*math.Sin(fx*7+1)+0.04*math.Sin(fx*17) {
					c = mix(sc.hillFar, sc.hillNear, (fy-0.5)*0.8)
				}
				if fy > 0.72+0.06*math.Sin(fx*5+3)+0.02*math.Sin(fx*23) {
					c = mix(sc.hillNear, color.RGBA{0, 0, 0, 255}, (fy-0.7)*0.6)
				}
				img.SetRGBA(x, y, c)
			}
		}
		p := filepath.Join(dir, sc.name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".png") {
			err = png.Encode(f, img)
		} else {
			err = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}
